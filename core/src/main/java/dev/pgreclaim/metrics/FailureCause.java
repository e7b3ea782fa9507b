package dev.pgreclaim.metrics;

import java.util.Locale;

/** Why a refused open was handed back to the application with its original exception. */
public enum FailureCause {
    /** No session of the role was eligible (all active, in a transaction, too recently idle, or protected). */
    NO_VICTIM,
    /**
     * The application already holds an idle session of the role on this server (a pool topping itself up, not a
     * caller starving): nothing is terminated for it.
     */
    NOT_STARVING,
    /** A kill could not let this open in: another limit it meets next (the database's, the server's) is full. */
    OTHER_LIMIT_FULL,
    /** The admin role sees NULL state for the role's sessions: it lacks pg_read_all_stats. */
    STATE_HIDDEN,
    /** pg_terminate_backend was refused: the admin role lacks pg_signal_backend. */
    NO_PRIVILEGE,
    /** The admin login was refused (password, pg_hba.conf, role cannot log in). */
    ADMIN_LOGIN_FAILED,
    /** The admin connection could not be opened or broke (host unreachable, timeout, server restarting). */
    ADMIN_UNAVAILABLE,
    /** Another JVM held the reclaim lock for this role longer than the time left. */
    LOCK_TIMEOUT,
    /** The open's deadline (pgreclaim.deadline or loginTimeout) ran out. */
    DEADLINE,
    /** The per-JVM termination budget for the window is spent. */
    BUDGET_EXHAUSTED,
    /** Every allowed attempt terminated a session, yet the slot was taken again each time. */
    MAX_ATTEMPTS,
    /** The caller's thread was interrupted; the interrupt flag is kept. */
    INTERRUPTED,
    /** A retry of the open failed for another reason than 53300. */
    RETRY_FAILED,
    /** The open cannot be attributed to one server and role (multi-host URL, no user) and no admin URL is set. */
    UNSUPPORTED_TARGET,
    /** The agent's own code failed; the application got its original outcome. */
    INTERNAL_ERROR;

    public String token() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
