package dev.pgreclaim.jdbc;

import dev.pgreclaim.log.ReclaimLog;
import dev.pgreclaim.metrics.ReclaimMetrics;
import dev.pgreclaim.reclaim.OpenHandler;
import java.sql.Connection;
import java.sql.Driver;
import java.sql.DriverManager;
import java.sql.DriverPropertyInfo;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.util.Properties;
import java.util.logging.Logger;

/**
 * pg-reclaim without an agent: a JDBC driver for {@code jdbc:pgreclaim:postgresql://host:port/db?...} URLs that opens
 * through the application's own pgjdbc ({@code org.postgresql.Driver}, loaded by name from this class's loader, else
 * the thread's context loader) and, when the open is refused with 53300, reclaims a slot and retries exactly as the
 * agent does (the same core: policy, victim rules, audit lines, budgets, failure semantics).
 *
 * <p>pgjdbc gets the URL with {@code jdbc:pgreclaim:} turned into {@code jdbc:postgresql:} and every
 * {@code pgreclaim.*} URL parameter and connection property removed. Other URLs are not this driver's:
 * {@link #acceptsURL} is false and {@link #connect} returns null.
 *
 * <p>Policy: the agent's {@code pgreclaim.*} properties, read per open with this precedence (later wins): the
 * environment ({@code PGRECLAIM_*}), system properties, the connection properties, the URL parameters. Opens with the
 * same effective policy share one reclaimer (single-flight, budget, admin session). Secrets are never accepted in the
 * URL ({@code pgreclaim.admin.password}, or a password inside {@code pgreclaim.admin.url}). An invalid configuration
 * (also an unknown {@code pgreclaim.*} name in the URL or the connection properties) is logged once, naming the
 * property but never a secret, and the open then runs exactly as plain pgjdbc; so does {@code pgreclaim.mode=off}.
 *
 * <p>With the agent in the same JVM, the wrapper reclaims for its own opens and the agent for the others: each run of
 * pgjdbc carries a mark the agent leaves alone. Registered with {@code DriverManager} when loaded, and through
 * {@code META-INF/services/java.sql.Driver}.
 */
public final class PgReclaimDriver implements Driver {
    static {
        try {
            DriverManager.registerDriver(new PgReclaimDriver());
        } catch (Throwable registrationFailure) {
            ReclaimLog.warn("pg-reclaim: could not register the JDBC wrapper with DriverManager: {}",
                    registrationFailure.toString());
        }
    }

    /** The pgjdbc driver every open goes through; null: the application's, looked up by name. */
    private final Driver delegate;

    public PgReclaimDriver() {
        this(null);
    }

    /** Opens through {@code delegate} (a pgjdbc {@code org.postgresql.Driver}, or a subclass in tests). */
    PgReclaimDriver(Driver delegate) {
        this.delegate = delegate;
    }

    /**
     * The wrapper's counters in this JVM (those the {@code dev.pgreclaim:type=Jdbc} MBean shows): every open of the
     * driver and of {@link PgReclaimDataSource}, whatever its policy.
     */
    public static ReclaimMetrics metrics() {
        return EffectivePolicies.METRICS;
    }

    @Override
    public Connection connect(String url, Properties info) throws SQLException {
        if (!WrapperUrl.accepts(url)) {
            return null;
        }
        Driver pgjdbc = delegate != null ? delegate : PgjdbcDriver.find();
        WrapperUrl parsed;
        Properties plainInfo;
        try {
            parsed = WrapperUrl.parse(url);
            plainInfo = WrapperUrl.withoutSettings(info);
        } catch (RuntimeException internalFailure) {
            // never expected; the open must still be the application's: pgjdbc reads what it knows and skips the rest
            ReclaimLog.warnOnce("jdbc-url", "pg-reclaim: internal error, the open runs as plain pgjdbc: {}",
                    internalFailure.toString());
            return pgjdbc.connect("jdbc:" + url.substring(WrapperUrl.PREFIX.length()), info);
        }
        if (OpenHandler.ownedElsewhere(info)) {
            // Another pg-reclaim entry point runs this open (the DataSource wrapper over this driver): it reclaims.
            return pgjdbc.connect(parsed.pgjdbcUrl(), OpenHandler.ownedCopy(plainInfo));
        }
        OpenHandler handler;
        try {
            handler = EffectivePolicies.handlerFor(parsed.settings(), parsed.problems(), info,
                    pgjdbc.getClass().getClassLoader());
        } catch (Throwable internalFailure) {
            ReclaimLog.warnOnce("jdbc-policy", "pg-reclaim: internal error, the open runs as plain pgjdbc: {}",
                    internalFailure.toString());
            handler = null;
        }
        if (handler == null) {
            // Unmarked, exactly as the application would open without the wrapper (an agent may then act on it).
            return pgjdbc.connect(parsed.pgjdbcUrl(), plainInfo);
        }
        return ReclaimingOpen.throughDriver(pgjdbc, handler, parsed.pgjdbcUrl(), plainInfo);
    }

    @Override
    public boolean acceptsURL(String url) {
        return WrapperUrl.accepts(url);
    }

    @Override
    public DriverPropertyInfo[] getPropertyInfo(String url, Properties info) throws SQLException {
        if (!WrapperUrl.accepts(url)) {
            return new DriverPropertyInfo[0];
        }
        Driver pgjdbc = delegate != null ? delegate : PgjdbcDriver.find();
        return pgjdbc.getPropertyInfo(WrapperUrl.parse(url).pgjdbcUrl(), WrapperUrl.withoutSettings(info));
    }

    @Override
    public int getMajorVersion() {
        return 0;
    }

    @Override
    public int getMinorVersion() {
        return 1;
    }

    /** False, as pgjdbc's own answer: compliance is pgjdbc's, and this driver only wraps it. */
    @Override
    public boolean jdbcCompliant() {
        return false;
    }

    @Override
    public Logger getParentLogger() throws SQLFeatureNotSupportedException {
        throw new SQLFeatureNotSupportedException("pg-reclaim logs through SLF4J or stderr, not java.util.logging");
    }
}
