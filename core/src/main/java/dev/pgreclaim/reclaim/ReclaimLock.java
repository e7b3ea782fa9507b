package dev.pgreclaim.reclaim;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

/**
 * Cross-JVM coordination through PostgreSQL itself: a session-level advisory lock per role, held by the admin session
 * from the victim's selection until the victim has left {@code pg_stat_activity}. Another JVM reclaiming for the same
 * role waits, then sees the victim gone and picks the next one: N JVMs racing over k idle sessions never signal the
 * same pid twice. Advisory locks are per database, so JVMs coordinate when their admin sessions use the same database
 * (the default: the database of the refused open).
 */
public final class ReclaimLock {
    /** First key of the two-int advisory lock: "pgrc". */
    static final int NAMESPACE = 0x70677263;

    // Schema-qualified with parameters cast to catalog types: the admin session may be in a database whose owner
    // planted a hashtext(varchar) or set_config(varchar, varchar, boolean) that would otherwise match better.
    private static final String ACQUIRE = "select pg_catalog.set_config('lock_timeout', cast(? as pg_catalog.text),"
            + " false), pg_catalog.pg_advisory_lock(cast(? as pg_catalog.int4),"
            + " pg_catalog.hashtext(cast(? as pg_catalog.text)))";
    private static final String RELEASE = "select pg_catalog.pg_advisory_unlock(cast(? as pg_catalog.int4),"
            + " pg_catalog.hashtext(cast(? as pg_catalog.text)))";

    private ReclaimLock() {
    }

    /** Waits at most {@code timeoutMillis}; throws SQLState 55P03 when not granted in time. */
    public static void acquire(Connection admin, String role, long timeoutMillis) throws SQLException {
        PreparedStatement statement = admin.prepareStatement(ACQUIRE);
        try {
            statement.setString(1, Math.max(1, timeoutMillis) + "ms");
            statement.setInt(2, NAMESPACE);
            statement.setString(3, role);
            statement.executeQuery().close();
        } finally {
            statement.close();
        }
    }

    public static void release(Connection admin, String role) throws SQLException {
        PreparedStatement statement = admin.prepareStatement(RELEASE);
        try {
            statement.setInt(1, NAMESPACE);
            statement.setString(2, role);
            ResultSet rows = statement.executeQuery();
            rows.close();
        } finally {
            statement.close();
        }
    }
}
