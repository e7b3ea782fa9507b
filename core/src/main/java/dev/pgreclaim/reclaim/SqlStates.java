package dev.pgreclaim.reclaim;

/** The SQLStates and server routine names the agent acts on. pgjdbc has no constant for 53300. */
public final class SqlStates {
    private SqlStates() {
    }

    /** {@code too_many_connections}: raised FATAL during connection start-up by every connection limit. */
    public static final String TOO_MANY_CONNECTIONS = "53300";

    /** {@code insufficient_privilege}: e.g. pg_terminate_backend without pg_signal_backend. */
    public static final String INSUFFICIENT_PRIVILEGE = "42501";

    /** {@code invalid_password}: the admin login was refused. */
    public static final String INVALID_PASSWORD = "28P01";

    /** {@code invalid_authorization_specification}: e.g. no pg_hba.conf entry, role not allowed to log in. */
    public static final String INVALID_AUTHORIZATION = "28000";

    /** {@code lock_not_available}: the cross-JVM advisory lock was not granted within lock_timeout. */
    public static final String LOCK_NOT_AVAILABLE = "55P03";

    /** {@code query_canceled}: statement_timeout or cancel. */
    public static final String QUERY_CANCELED = "57014";

    // Routine names (the ErrorResponse 'R' field) that raise 53300. Not translated, unlike the message text.

    /** Role's CONNECTION LIMIT, checked after authentication (all supported majors). */
    public static final String ROUTINE_ROLE_LIMIT = "InitializeSessionUserId";
    /** Database's CONNECTION LIMIT, checked after authentication. */
    public static final String ROUTINE_DATABASE_LIMIT = "CheckMyDatabase";
    /** Only reserved slots left (superuser_reserved_connections; PG16+ also reserved_connections). */
    public static final String ROUTINE_RESERVED = "InitPostgres";
    /** No free PGPROC: max_connections reached ("sorry, too many clients already"). */
    public static final String ROUTINE_NO_PROC = "InitProcess";
    /** Postmaster child limit, up to PG16. */
    public static final String ROUTINE_CHILD_LIMIT_OLD = "ProcessStartupPacket";
    /** Postmaster child limit, PG17+. */
    public static final String ROUTINE_CHILD_LIMIT = "BackendInitialize";
}
