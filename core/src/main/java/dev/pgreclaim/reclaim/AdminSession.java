package dev.pgreclaim.reclaim;

import java.sql.Connection;
import java.sql.Driver;
import java.sql.SQLException;
import java.util.Properties;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;

/**
 * The admin connection of one reclaim site. Opened through the application's own {@code Driver} (so the agent needs
 * no driver of its own and uses the application's TLS settings), in autocommit, with the application name
 * {@value VictimQuery#ADMIN_APPLICATION_NAME}. It stays open for the keep-alive time after its last use, so a burst
 * of refusals pays the admin login once, and is then closed: an idle admin backend in every JVM would itself eat
 * slots. Not thread-safe: its {@link ReclaimSite} serialises use.
 */
final class AdminSession {
    private static final Executor DIRECT = new Executor() {
        @Override
        public void execute(Runnable command) {
            command.run();
        }
    };

    private static volatile ScheduledThreadPoolExecutor closer;

    private final String url;
    private final Properties baseProperties;
    private final String user;
    private final String password;
    private final long keepAliveMillis;
    private Connection connection;
    private ScheduledFuture<?> pendingClose;
    /**
     * Changes with every acquire, release and close; a keep-alive close acts only when it still holds the current
     * value, i.e. nothing used the session since the release that set it. Cancelling the pending close is not enough:
     * a close that has already started waits for this session's lock while acquire holds it, and would then close the
     * connection acquire has just handed out (or, after a second release, cut that release's keep-alive short).
     */
    private long closeToken;
    private boolean lastAcquireReused;
    /** Test seam: runs on the closer thread when a keep-alive close starts, before it takes this session's lock. */
    volatile Runnable beforeKeepAliveClose;

    AdminSession(String url, Properties baseProperties, String user, String password, long keepAliveMillis) {
        this.url = url;
        this.baseProperties = baseProperties;
        this.user = user;
        this.password = password;
        this.keepAliveMillis = keepAliveMillis;
    }

    String url() {
        return url;
    }

    /** A live connection whose network timeout ends by the deadline; opens one if needed. */
    synchronized Connection acquire(Object driver, long deadlineNanos) throws SQLException {
        closeToken++;
        cancelPendingClose();
        long remainingMillis = Math.max(1, (deadlineNanos - System.nanoTime()) / 1_000_000L);
        if (connection != null && connection.isClosed()) {
            connection = null;
        }
        lastAcquireReused = connection != null;
        if (connection == null) {
            connection = open(driver, remainingMillis);
        }
        connection.setNetworkTimeout(DIRECT, (int) Math.min(Integer.MAX_VALUE, remainingMillis));
        return connection;
    }

    private Connection open(Object driver, long remainingMillis) throws SQLException {
        if (!(driver instanceof Driver)) {
            throw new SQLException("pg-reclaim: the intercepted driver is not a java.sql.Driver");
        }
        Properties properties = AdminLoginProperties.of(baseProperties, user, password);
        // loginTimeout takes fractional seconds in pgjdbc and bounds the whole login (TCP, TLS, auth);
        // connectTimeout (whole seconds) bounds the TCP connect of an unreachable host.
        properties.setProperty("loginTimeout", String.valueOf(Math.max(0.001, remainingMillis / 1000.0)));
        properties.setProperty("connectTimeout", String.valueOf(Math.max(1, (remainingMillis + 999) / 1000)));
        // With loginTimeout pgjdbc logs in on a worker thread and stops waiting at the timeout, but the worker stays
        // blocked on a server that accepted the TCP connection and never answers; socketTimeout ends it too.
        properties.setProperty("socketTimeout", String.valueOf(Math.max(1, (remainingMillis + 999) / 1000)));
        ReentryGuard.enter();
        try {
            Connection opened = ((Driver) driver).connect(url, properties);
            if (opened == null) {
                throw new SQLException("pg-reclaim: the driver does not accept the admin URL "
                        + dev.pgreclaim.policy.SafeText.scrubUrls(url));
            }
            opened.setAutoCommit(true);
            return opened;
        } finally {
            ReentryGuard.exit();
        }
    }

    /** True when the last {@link #acquire} handed out a kept session rather than a new login. */
    synchronized boolean lastAcquireReused() {
        return lastAcquireReused;
    }

    /** After use: keep the session for the keep-alive time, or close it now (also when it may be unhealthy). */
    synchronized void release(boolean healthy) {
        final long token = ++closeToken;
        if (!healthy || keepAliveMillis == 0) {
            close();
            return;
        }
        final Connection kept = connection;
        if (kept == null) {
            return;
        }
        cancelPendingClose();
        pendingClose = closer().schedule(new Runnable() {
            @Override
            public void run() {
                Runnable hook = beforeKeepAliveClose;
                if (hook != null) {
                    hook.run();
                }
                closeIfStill(kept, token);
            }
        }, keepAliveMillis, TimeUnit.MILLISECONDS);
    }

    private synchronized void closeIfStill(Connection kept, long token) {
        if (token != closeToken || connection != kept) {
            return;
        }
        connection = null;
        pendingClose = null;
        closeQuietly(kept);
    }

    private void cancelPendingClose() {
        ScheduledFuture<?> pending = pendingClose;
        if (pending != null) {
            pending.cancel(false);
            pendingClose = null;
        }
    }

    synchronized void close() {
        closeToken++;
        cancelPendingClose();
        Connection open = connection;
        connection = null;
        if (open != null) {
            closeQuietly(open);
        }
    }

    private static void closeQuietly(Connection connection) {
        try {
            connection.close();
        } catch (SQLException | RuntimeException ignored) {
            // Closing a broken admin connection: nothing left to do.
        }
    }

    /** Test seam: returns once every keep-alive close that has started or is due by now has finished. */
    static void awaitCloser(long timeoutMillis) throws Exception {
        closer().submit(new Runnable() {
            @Override
            public void run() {
                // Nothing: the closer has one thread, so this runs after the closes queued before it.
            }
        }).get(timeoutMillis, TimeUnit.MILLISECONDS);
    }

    /** Creates the keep-alive scheduler (its thread starts with the first scheduled close). */
    static void prewarm() {
        closer();
    }

    private static ScheduledThreadPoolExecutor closer() {
        ScheduledThreadPoolExecutor executor = closer;
        if (executor == null) {
            synchronized (AdminSession.class) {
                executor = closer;
                if (executor == null) {
                    executor = new ScheduledThreadPoolExecutor(1, new ThreadFactory() {
                        @Override
                        public Thread newThread(Runnable task) {
                            Thread thread = new Thread(task, "pg-reclaim-admin-closer");
                            thread.setDaemon(true);
                            return thread;
                        }
                    });
                    executor.setRemoveOnCancelPolicy(true);
                    closer = executor;
                }
            }
        }
        return executor;
    }
}
