package dev.pgreclaim.jdbc;

import dev.pgreclaim.log.ReclaimLog;
import dev.pgreclaim.reclaim.OpenHandler;
import java.io.PrintWriter;
import java.lang.reflect.Method;
import java.sql.Connection;
import java.sql.Driver;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.util.Collections;
import java.util.Properties;
import java.util.logging.Logger;
import javax.sql.DataSource;

/**
 * pg-reclaim without an agent, for pools and servers configured by {@code DataSource}. Two ways to use it:
 *
 * <ul>
 * <li>As a bean, e.g. HikariCP's {@code dataSourceClassName=dev.pgreclaim.jdbc.PgReclaimDataSource} with the data
 * source properties {@code url} ({@code jdbc:pgreclaim:postgresql://...} or {@code jdbc:postgresql://...}),
 * {@code user}, {@code password} (and {@code loginTimeout}, which pools set themselves). Every open runs through
 * {@link PgReclaimDriver}: the same policy sources and precedence (environment, system properties, then
 * {@code pgreclaim.*} URL parameters), the same retries.</li>
 * <li>Wrapping any pgjdbc {@code DataSource}: {@code new PgReclaimDataSource(pgSimpleDataSource)} or
 * {@link #setTargetDataSource}. A refused {@code getConnection} is reclaimed for and called again. The policy comes
 * from the environment and system properties. What the core needs to know about the open (host, database, login
 * role, the caller's login timeout) is read from the target's {@code getUrl()} (or {@code getURL()}) and
 * {@code getUser()}; a target that answers neither opens plainly.</li>
 * </ul>
 *
 * <p>What a retry of a wrapped target can and cannot change: it can only call the target's {@code getConnection}
 * again. It cannot give that retry a shorter login timeout (the target's properties are shared with every other
 * thread, so they are never changed), so with a login timeout set on the target a retry may take up to that timeout
 * again past the caller's own; the core still never starts a retry once the caller's timeout or
 * {@code pgreclaim.deadline} has run out. Nor can it change the URL, the user or anything else of the open. Through the
 * bean form (or the driver), each retry gets the time left of the caller's login timeout as its own.
 */
public class PgReclaimDataSource implements DataSource {
    private static final PgReclaimDriver DRIVER = new PgReclaimDriver();

    private volatile DataSource target;
    private volatile String url;
    private volatile String user;
    private volatile String password;
    private volatile int loginTimeout;
    private volatile PrintWriter logWriter;

    /** A bean to be configured with {@link #setUrl}, {@link #setUser}, {@link #setPassword}. */
    public PgReclaimDataSource() {
    }

    /** Wraps {@code target}, a pgjdbc {@code DataSource}, reclaiming on its {@code getConnection}. */
    public PgReclaimDataSource(DataSource target) {
        this.target = target;
    }

    public DataSource getTargetDataSource() {
        return target;
    }

    /** Wraps {@code target} from now on; the bean properties are then not used. */
    public void setTargetDataSource(DataSource target) {
        this.target = target;
    }

    public String getUrl() {
        return url;
    }

    /** {@code jdbc:pgreclaim:postgresql://...}, or {@code jdbc:postgresql://...} (read as the former). */
    public void setUrl(String url) {
        this.url = url;
    }

    public String getUser() {
        return user;
    }

    public void setUser(String user) {
        this.user = user;
    }

    /** Write-only: there is no getter, so the password shows in no bean dump. */
    public void setPassword(String password) {
        this.password = password;
    }

    @Override
    public Connection getConnection() throws SQLException {
        DataSource wrapped = target;
        if (wrapped != null) {
            return openTarget(wrapped, null, null);
        }
        return openUrl(user, password);
    }

    @Override
    public Connection getConnection(String username, String password) throws SQLException {
        DataSource wrapped = target;
        if (wrapped != null) {
            return openTarget(wrapped, username, password);
        }
        return openUrl(username, password);
    }

    private Connection openUrl(String username, String secret) throws SQLException {
        String configured = url;
        if (configured == null) {
            throw new SQLException("pg-reclaim: PgReclaimDataSource has no url (set url, or a target DataSource)",
                    "08001");
        }
        String wrapperUrl = configured.startsWith(WrapperUrl.PGJDBC_PREFIX)
                ? WrapperUrl.PREFIX + configured.substring("jdbc:".length()) : configured;
        Properties info = new Properties();
        if (username != null) {
            info.setProperty("user", username);
        }
        if (secret != null) {
            info.setProperty("password", secret);
        }
        int timeout = loginTimeout;
        if (timeout > 0) {
            info.setProperty("loginTimeout", Integer.toString(timeout));
        }
        Connection connection = DRIVER.connect(wrapperUrl, info);
        if (connection == null) {
            throw new SQLException("pg-reclaim: PgReclaimDataSource url is neither a jdbc:pgreclaim:postgresql: nor"
                    + " a jdbc:postgresql: URL, or pgjdbc does not accept it", "08001");
        }
        return connection;
    }

    private static Connection openTarget(DataSource wrapped, String username, String secret) throws SQLException {
        if (OpenHandler.ownedElsewhere(null)) {
            // inside another pg-reclaim entry point's open: it reclaims, this one only opens
            return plain(wrapped, username, secret);
        }
        Driver pgjdbc = null;
        String targetUrl = null;
        Properties info = null;
        OpenHandler handler = null;
        try {
            pgjdbc = PgjdbcDriver.forLoader(wrapped.getClass().getClassLoader());
            if (pgjdbc == null) {
                pgjdbc = PgjdbcDriver.find();
            }
            targetUrl = stringProperty(wrapped, "getUrl", "getURL");
            if (targetUrl != null && targetUrl.startsWith(WrapperUrl.PGJDBC_PREFIX)) {
                info = new Properties();
                String login = username != null ? username : stringProperty(wrapped, "getUser", null);
                if (login != null) {
                    info.setProperty("user", login);
                }
                handler = EffectivePolicies.handlerFor(Collections.<String, String>emptyMap(),
                        Collections.<String>emptyList(), null, pgjdbc.getClass().getClassLoader());
            } else {
                ReclaimLog.warnOnce("jdbc-target:" + wrapped.getClass().getName(), "pg-reclaim: {} does not tell its"
                        + " jdbc:postgresql: URL (getUrl/getURL): its opens run plainly", wrapped.getClass().getName());
            }
        } catch (Throwable internalFailure) {
            ReclaimLog.warnOnce("jdbc-target-internal", "pg-reclaim: internal error, the open runs plainly: {}",
                    internalFailure.toString());
            handler = null;
        }
        if (handler == null) {
            return plain(wrapped, username, secret);
        }
        return ReclaimingOpen.throughDataSource(wrapped, username, secret, pgjdbc, handler, targetUrl, info);
    }

    private static Connection plain(DataSource wrapped, String username, String secret) throws SQLException {
        return username == null ? wrapped.getConnection() : wrapped.getConnection(username, secret);
    }

    /** The first of {@code getters} the object answers with a String, by reflection (no pgjdbc link). */
    private static String stringProperty(Object bean, String getter, String alternative) {
        String[] names = alternative == null ? new String[] {getter} : new String[] {getter, alternative};
        for (String name : names) {
            try {
                Method method = bean.getClass().getMethod(name);
                Object value = method.invoke(bean);
                if (value instanceof String) {
                    return (String) value;
                }
            } catch (NoSuchMethodException noSuchGetter) {
                // try the next name
            } catch (ReflectiveOperationException | RuntimeException | LinkageError unreadable) {
                return null;
            }
        }
        return null;
    }

    @Override
    public PrintWriter getLogWriter() throws SQLException {
        DataSource wrapped = target;
        return wrapped != null ? wrapped.getLogWriter() : logWriter;
    }

    @Override
    public void setLogWriter(PrintWriter out) throws SQLException {
        DataSource wrapped = target;
        if (wrapped != null) {
            wrapped.setLogWriter(out);
        } else {
            logWriter = out;
        }
    }

    /** In seconds; 0 for none. Wrapping a target, the target's own. */
    @Override
    public void setLoginTimeout(int seconds) throws SQLException {
        DataSource wrapped = target;
        if (wrapped != null) {
            wrapped.setLoginTimeout(seconds);
        } else {
            loginTimeout = seconds;
        }
    }

    @Override
    public int getLoginTimeout() throws SQLException {
        DataSource wrapped = target;
        return wrapped != null ? wrapped.getLoginTimeout() : loginTimeout;
    }

    @Override
    public Logger getParentLogger() throws SQLFeatureNotSupportedException {
        throw new SQLFeatureNotSupportedException("pg-reclaim logs through SLF4J or stderr, not java.util.logging");
    }

    @Override
    public <T> T unwrap(Class<T> iface) throws SQLException {
        if (iface.isInstance(this)) {
            return iface.cast(this);
        }
        DataSource wrapped = target;
        if (wrapped != null) {
            return wrapped.unwrap(iface);
        }
        throw new SQLException("pg-reclaim: PgReclaimDataSource does not wrap a " + iface.getName());
    }

    @Override
    public boolean isWrapperFor(Class<?> iface) throws SQLException {
        if (iface.isInstance(this)) {
            return true;
        }
        DataSource wrapped = target;
        return wrapped != null && wrapped.isWrapperFor(iface);
    }
}
