package dev.pgreclaim.reclaim;

import java.sql.Connection;
import java.sql.SQLException;

/**
 * What differs between the PostgreSQL majors pg-reclaim supports (12 to 18) where pg-reclaim depends on it, in one
 * place. Each answer but {@link #childLimitRoutine} (read from the sources: reaching the postmaster's child limit takes
 * hundreds of connections) is checked against a real server of every major by {@code ServerMajorTest}
 * ({@code .ci/majors}).
 *
 * <p>The reclaim path itself needs no branch on the major, by choice: it classifies refusals by routine name, and the
 * routine names are the same on every major except the postmaster's child limit, whose two names
 * ({@link #childLimitRoutine}) never mean anything else, so both are accepted everywhere ({@link Refusal#kindOf});
 * it calls only the one-argument {@code pg_terminate_backend(pid)} and waits for the exit itself (the timeout form is
 * missing before 14); and it reads only {@code pg_stat_activity} columns and roles that all majors have
 * ({@code backend_type}, {@code state}, {@code state_change}; {@code pg_signal_backend}, {@code pg_read_all_stats}).
 *
 * <p>Not a question of the major: whether a role's walsenders (replication connections) count toward its
 * {@code CONNECTION LIMIT}. 18 counts only regular backends; older majors counted walsenders too, and recent minor
 * releases of older majors stopped (measured: 12.22 still counts them, 13.22, 14.22 and 16.10 do not). pg-reclaim
 * does not depend on it: a walsender is never a victim ({@code backend_type} is not {@code client backend}), so a
 * limit held by walsenders is left alone on every release ({@code ServerMajorTest}).
 */
public final class ServerMajor {
    /** The oldest major the test suite runs on. */
    public static final int OLDEST_TESTED = 12;
    /** The newest major the test suite runs on. */
    public static final int NEWEST_TESTED = 18;

    /** The role whose members may use {@code reserved_connections} slots (16+). */
    public static final String RESERVED_CONNECTIONS_ROLE = "pg_use_reserved_connections";

    private final int major;

    private ServerMajor(int major) {
        this.major = major;
    }

    public static ServerMajor of(int major) {
        return new ServerMajor(major);
    }

    /** The connected server's major, as pgjdbc read it from the server_version reported at login (no query). */
    public static ServerMajor of(Connection connection) throws SQLException {
        return new ServerMajor(connection.getMetaData().getDatabaseMajorVersion());
    }

    public int major() {
        return major;
    }

    /**
     * {@code pg_terminate_backend(pid, timeout)}, which waits for the backend to exit, exists from 14; 12 and 13 have
     * only {@code pg_terminate_backend(pid)}, which returns once the signal is sent.
     */
    public boolean terminateCanWaitForExit() {
        return major >= 14;
    }

    /**
     * From 16 {@code reserved_connections} keeps slots for members of {@link #RESERVED_CONNECTIONS_ROLE} besides
     * {@code superuser_reserved_connections}, and the refusal says which ("...reserved for roles with the SUPERUSER
     * attribute" / "...with privileges of the pg_use_reserved_connections role"). Before 16 only superusers may use
     * reserved slots ("...reserved for non-replication superuser connections"). The routine is {@code InitPostgres}
     * on every major.
     */
    public boolean hasReservedConnectionsRole() {
        return major >= 16;
    }

    /**
     * The routine of the postmaster's "sorry, too many clients already": {@code ProcessStartupPacket} up to 16,
     * {@code BackendInitialize} from 17. ({@code InitProcess}, the other source of that message, is the same on
     * every major.)
     */
    public String childLimitRoutine() {
        return major >= 17 ? SqlStates.ROUTINE_CHILD_LIMIT : SqlStates.ROUTINE_CHILD_LIMIT_OLD;
    }

    /** {@code pg_stat_activity.leader_pid} exists from 13, {@code query_id} from 14. */
    public boolean hasLeaderPid() {
        return major >= 13;
    }

    /** {@code idle_session_timeout}, the server-side alternative to pg-reclaim, exists from 14. */
    public boolean hasIdleSessionTimeout() {
        return major >= 14;
    }

    @Override
    public String toString() {
        return "PostgreSQL " + major;
    }
}
