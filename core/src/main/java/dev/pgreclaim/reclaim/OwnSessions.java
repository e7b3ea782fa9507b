package dev.pgreclaim.reclaim;

import java.lang.ref.WeakReference;
import java.lang.reflect.Method;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The sessions this JVM opened for the application, per (server, role): their backend pids, for as long as the
 * application keeps them open. A refused open is served only when none of them is idle: an application that already
 * holds an idle session of the role is not starving (typically a pool topping itself up to its minimum), and killing
 * another process's session for it would only move an idle connection from one pool to another, back and forth
 * (issue 15's "reclaim war").
 *
 * <p>What it cannot see: sessions opened before the agent was attached, sessions opened through another driver
 * instance that is not woven, and a server reached under two names (localhost and 127.0.0.1 are two servers here).
 * Each of those only makes the agent think the application starves, which is the behaviour without this rule.
 *
 * <p>Held weakly, and forgotten once the application closes them: the registry never keeps a connection alive.
 * Recording costs one reflective {@code getBackendPID()} call and a short synchronized list append per open.
 */
final class OwnSessions {
    /** Closed or collected connections are swept from a list every this many additions. */
    private static final int SWEEP_EVERY = 64;
    /** Distinct (URL, properties) combinations whose key is remembered; an app opening as thousands of tenants. */
    private static final int MAX_CACHED_KEYS = 1024;

    private final ConcurrentHashMap<String, Sessions> byKey = new ConcurrentHashMap<String, Sessions>();
    private final ConcurrentHashMap<String, String> keyOfOpen = new ConcurrentHashMap<String, String>();
    private volatile PidReader pidReader;

    /** The key of one (server, role): the server as the connect target resolves it, and the login role. */
    static String key(ConnectTarget target) {
        return target.serverKey() + "\u0000" + target.user();
    }

    /** Records a connection the application's driver just returned. Never throws. */
    void opened(Object driver, String url, Properties info, Object connection) {
        if (!(connection instanceof Connection)) {
            return;
        }
        String key = keyOf(driver, url, info);
        if (key == null) {
            return;
        }
        int pid = pidOf(connection);
        if (pid <= 0) {
            return;
        }
        Sessions sessions = byKey.get(key);
        if (sessions == null) {
            Sessions created = new Sessions();
            sessions = byKey.putIfAbsent(key, created);
            if (sessions == null) {
                sessions = created;
            }
        }
        sessions.add(pid, (Connection) connection);
    }

    /** The pids of the sessions of this (server, role) that the application still holds open. */
    int[] livePids(String key) {
        Sessions sessions = byKey.get(key);
        return sessions == null ? new int[0] : sessions.live();
    }

    private String keyOf(Object driver, String url, Properties info) {
        if (url == null) {
            return null;
        }
        String cacheKey = url;
        if (info != null) {
            cacheKey = url + "\u0000" + info.getProperty("user") + "\u0000" + info.getProperty("PGHOST") + "\u0000"
                    + info.getProperty("PGPORT");
        }
        String key = keyOfOpen.get(cacheKey);
        if (key == null) {
            ConnectTarget target = ConnectTarget.parse(url, info, driver);
            if (target == null || target.user() == null) {
                return null;
            }
            key = key(target);
            if (keyOfOpen.size() >= MAX_CACHED_KEYS) {
                keyOfOpen.clear();
            }
            keyOfOpen.put(cacheKey, key);
        }
        return key;
    }

    private int pidOf(Object connection) {
        PidReader reader = pidReader;
        if (reader == null || reader.type != connection.getClass()) {
            try {
                reader = new PidReader(connection.getClass(),
                        connection.getClass().getMethod("getBackendPID"));
            } catch (NoSuchMethodException notPgjdbc) {
                return -1;
            } catch (RuntimeException | LinkageError inaccessible) {
                return -1;
            }
            pidReader = reader;
        }
        try {
            Object pid = reader.method.invoke(connection);
            return pid instanceof Integer ? (Integer) pid : -1;
        } catch (Exception | LinkageError unreadable) {
            return -1;
        }
    }

    private static final class PidReader {
        final Class<?> type;
        final Method method;

        PidReader(Class<?> type, Method method) {
            this.type = type;
            this.method = method;
        }
    }

    private static final class Sessions {
        private final List<Session> list = new ArrayList<Session>();
        private int additions;

        synchronized void add(int pid, Connection connection) {
            list.add(new Session(pid, connection));
            if (++additions % SWEEP_EVERY == 0) {
                sweep();
            }
        }

        synchronized int[] live() {
            sweep();
            int[] pids = new int[list.size()];
            for (int i = 0; i < pids.length; i++) {
                pids[i] = list.get(i).pid;
            }
            return pids;
        }

        private void sweep() {
            for (Iterator<Session> it = list.iterator(); it.hasNext();) {
                if (!it.next().open()) {
                    it.remove();
                }
            }
        }
    }

    private static final class Session {
        final int pid;
        final WeakReference<Connection> connection;

        Session(int pid, Connection connection) {
            this.pid = pid;
            this.connection = new WeakReference<Connection>(connection);
        }

        /** pgjdbc answers isClosed() from a flag, without a round trip. */
        boolean open() {
            Connection held = connection.get();
            if (held == null) {
                return false;
            }
            try {
                return !held.isClosed();
            } catch (SQLException | RuntimeException broken) {
                return false;
            }
        }
    }
}
