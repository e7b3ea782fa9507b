package dev.pgreclaim.reclaim;

import dev.pgreclaim.log.ReclaimLog;
import dev.pgreclaim.metrics.FailureCause;
import dev.pgreclaim.policy.LimitKind;
import dev.pgreclaim.policy.SafeText;
import dev.pgreclaim.policy.VictimRules;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One (admin server, role) pair. Serialises reclaims for it in this JVM (single-flight: threads refused at the same
 * time share one reclaim instead of each terminating a session) and owns its admin session.
 */
final class ReclaimSite {
    /** Longest the admin session waits for a terminated victim to leave pg_stat_activity. */
    static final long EXIT_WAIT_MAX_MILLIS = 250;
    /**
     * How long a "no eligible session" answer is reused. When the idle sessions are gone, every refused open of a
     * burst would otherwise queue on the lock for its own admin query, and the application would wait hundreds of
     * milliseconds for a 53300 it gets anyway. Reusing the answer briefly only ever makes the agent do less.
     */
    static final long NO_VICTIM_REUSE_MILLIS = 100;
    /** How long the rehearsal waits for the cross-JVM lock before rehearsing without it. */
    static final long REHEARSAL_LOCK_WAIT_MILLIS = 100;
    /** A pid no backend has: the rehearsal's exit poll finds nothing. */
    private static final int NO_SUCH_PID = 0;
    /** How many signalled pids a site remembers, and for how long. */
    static final int SIGNALLED_MEMORY = 32;
    static final long SIGNALLED_MEMORY_MILLIS = 60_000;

    private final String role;
    private final AdminSession admin;
    private final ReentrantLock lock = new ReentrantLock();
    private ReclaimResult lastNoVictim;
    private VictimScope lastNoVictimScope;
    private long lastNoVictimNanos;
    private long lastObservationNanos = System.nanoTime() - TimeUnit.SECONDS.toNanos(10);
    private int unreportedObservations;
    /**
     * Pids this site signalled in the last {@link #SIGNALLED_MEMORY_MILLIS}: a victim that takes long to exit (many
     * temp tables) stays in pg_stat_activity after the exit wait, and must never be picked, counted or audited again.
     */
    private final int[] signalledPids = new int[SIGNALLED_MEMORY];
    private final long[] signalledAt = new long[SIGNALLED_MEMORY];
    private int signalledNext;

    ReclaimSite(String role, AdminSession admin) {
        this.role = role;
        this.admin = admin;
    }

    String adminUrl() {
        return admin.url();
    }

    /** The pids this site signalled recently (see {@link #signalledPids}); called under no lock, copies. */
    synchronized int[] signalledPids() {
        long now = System.nanoTime();
        int count = 0;
        int[] recent = new int[SIGNALLED_MEMORY];
        for (int i = 0; i < SIGNALLED_MEMORY; i++) {
            if (signalledPids[i] != 0
                    && now - signalledAt[i] < TimeUnit.MILLISECONDS.toNanos(SIGNALLED_MEMORY_MILLIS)) {
                recent[count++] = signalledPids[i];
            }
        }
        int[] result = new int[count];
        System.arraycopy(recent, 0, result, 0, count);
        return result;
    }

    private synchronized void rememberSignalled(int pid) {
        signalledPids[signalledNext] = pid;
        signalledAt[signalledNext] = System.nanoTime();
        signalledNext = (signalledNext + 1) % SIGNALLED_MEMORY;
    }

    ReclaimResult reclaim(Object driver, VictimScope scope, VictimRules rules, long deadlineNanos,
            TerminationBudget budget, KillGuards guards) {
        try {
            long waitNanos = deadlineNanos - System.nanoTime();
            if (waitNanos <= 0 || !lock.tryLock(waitNanos, TimeUnit.NANOSECONDS)) {
                return ReclaimResult.failed(FailureCause.DEADLINE,
                        "another thread's reclaim for role " + role + " outlasted the deadline", null);
            }
        } catch (InterruptedException interrupted) {
            Thread.currentThread().interrupt();
            return ReclaimResult.failed(FailureCause.INTERRUPTED, "interrupted while waiting for a reclaim", null);
        }
        try {
            // Deliberately no "a termination happened while you waited: just retry" shortcut: the thread that
            // terminated a session retries into that slot itself, so waking every waiter to race for it only turns one
            // freed slot into a herd of refused logins (each a full SCRAM exchange) before the next round. Each waiter
            // instead terminates for its own need, one at a time, while eligible sessions last; then the cached
            // "no eligible session" answer sends the rest back at once.
            long now = System.nanoTime();
            if (lastNoVictim != null && scope.equals(lastNoVictimScope)
                    && now - lastNoVictimNanos < TimeUnit.MILLISECONDS.toNanos(NO_VICTIM_REUSE_MILLIS)) {
                return lastNoVictim;
            }
            if (!budget.tryAcquire(now)) {
                return ReclaimResult.failed(FailureCause.BUDGET_EXHAUSTED, "termination budget spent", null);
            }
            ReclaimResult result = terminateOne(driver, scope, rules, deadlineNanos, guards);
            if (result.kind != ReclaimResult.Kind.TERMINATED) {
                budget.refund();
            }
            boolean noVictim = result.kind == ReclaimResult.Kind.FAILED && (result.cause == FailureCause.NO_VICTIM
                    || result.cause == FailureCause.STATE_HIDDEN || result.cause == FailureCause.NOT_STARVING
                    || result.cause == FailureCause.OTHER_LIMIT_FULL);
            lastNoVictim = noVictim ? result : null;
            lastNoVictimScope = scope;
            lastNoVictimNanos = System.nanoTime();
            return result;
        } finally {
            lock.unlock();
        }
    }

    private ReclaimResult terminateOne(Object driver, VictimScope scope, VictimRules rules, long deadlineNanos,
            KillGuards guards) {
        ReclaimResult result = terminateOnce(driver, scope, rules, deadlineNanos, guards);
        if (result == null) {
            // The kept admin session had died (server restart, idle_session_timeout, a network cut) before it
            // sent anything: nothing was terminated, so one fresh login is safe.
            result = terminateOnce(driver, scope, rules, deadlineNanos, guards);
        }
        return result != null ? result : ReclaimResult.failed(FailureCause.ADMIN_UNAVAILABLE,
                "the admin session was lost twice in a row", null);
    }

    /** One round on the admin session; null when a kept session turned out dead at its first statement. */
    private ReclaimResult terminateOnce(Object driver, VictimScope scope, VictimRules rules, long deadlineNanos,
            KillGuards guards) {
        Connection connection;
        try {
            connection = admin.acquire(driver, deadlineNanos);
        } catch (SQLException | RuntimeException adminFailure) {
            admin.close();
            return adminConnectFailure(adminFailure, ConnectTarget.withoutParameters(admin.url()));
        }
        boolean reused = admin.lastAcquireReused();
        boolean healthy = true;
        boolean locked = false;
        Victim victim = null;
        try {
            try {
                ReclaimLock.acquire(connection, role, remainingMillis(deadlineNanos));
            } catch (SQLException lockFailure) {
                if (reused && isConnectionLost(lockFailure)) {
                    healthy = false;
                    return null;
                }
                throw lockFailure;
            }
            locked = true;
            victim = VictimQuery.terminateOne(connection, scope, rules, guards);
            if (victim == null) {
                return explainNoVictim(connection, scope, rules, guards);
            }
            if (!victim.terminated()) {
                // The pid left between selection and signal: its slot is free anyway.
                return ReclaimResult.joined();
            }
            rememberSignalled(victim.pid());
            boolean exited;
            try {
                exited = awaitExit(connection, victim.pid(), deadlineNanos);
            } catch (SQLException exitWaitFailure) {
                // The termination happened: it is audited, counted and charged like any other, and the caller's
                // suppressed exception names it; only its exit could not be confirmed.
                healthy = false;
                return ReclaimResult.terminatedUnconfirmed(victim, "terminated, but the admin session failed while"
                        + " waiting for the session to exit" + stateOf(exitWaitFailure), exitWaitFailure);
            }
            return exited ? ReclaimResult.terminated(victim) : ReclaimResult.terminatedStillExiting(victim);
        } catch (SQLException sqlFailure) {
            healthy = false;
            return sqlFailure(sqlFailure);
        } catch (RuntimeException unexpected) {
            healthy = false;
            if (victim != null && victim.terminated()) {
                return ReclaimResult.terminatedUnconfirmed(victim, "terminated, then an internal error", unexpected);
            }
            return ReclaimResult.failed(FailureCause.INTERNAL_ERROR, unexpected.toString(), unexpected);
        } finally {
            if (locked && healthy) {
                try {
                    ReclaimLock.release(connection, role);
                } catch (SQLException unlockFailure) {
                    healthy = false;
                }
            }
            // Closing an unhealthy session also drops a lock it may still hold.
            admin.release(healthy);
        }
    }

    private static String stateOf(SQLException failure) {
        return failure.getSQLState() == null ? "" : " (SQLState " + failure.getSQLState() + ")";
    }

    /**
     * Waits (bounded by the open's deadline and {@link #EXIT_WAIT_MAX_MILLIS}) for the victim to leave; true when it
     * has.
     */
    private static boolean awaitExit(Connection connection, int pid, long deadlineNanos) throws SQLException {
        return VictimQuery.awaitExit(connection, pid, Math.min(deadlineNanos,
                System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(EXIT_WAIT_MAX_MILLIS)));
    }

    private ReclaimResult explainNoVictim(Connection connection, VictimScope scope, VictimRules rules,
            KillGuards guards) throws SQLException {
        NoVictim why = VictimQuery.whyNone(connection, scope, rules, guards);
        FailureCause cause;
        switch (why.reason()) {
            case REQUESTER_NOT_STARVING:
                cause = FailureCause.NOT_STARVING;
                break;
            case STATE_HIDDEN:
                cause = FailureCause.STATE_HIDDEN;
                break;
            case DATABASE_FULL:
            case SERVER_FULL:
                cause = FailureCause.OTHER_LIMIT_FULL;
                break;
            default:
                cause = FailureCause.NO_VICTIM;
        }
        return ReclaimResult.failed(cause, why.describe(), null);
    }

    /** SQLState class 08 (connection exception) or 57P01-57P03 (the server is shutting down or restarting). */
    private static boolean isConnectionLost(SQLException failure) {
        String state = failure.getSQLState();
        return state != null && (state.startsWith("08") || state.equals("57P01") || state.equals("57P02")
                || state.equals("57P03"));
    }

    private static ReclaimResult adminConnectFailure(Exception failure, String adminUrl) {
        String state = failure instanceof SQLException ? ((SQLException) failure).getSQLState() : null;
        if (SqlStates.INVALID_PASSWORD.equals(state) || SqlStates.INVALID_AUTHORIZATION.equals(state)) {
            return ReclaimResult.failed(FailureCause.ADMIN_LOGIN_FAILED, "the admin login to " + adminUrl
                    + " was refused (SQLState " + state + "); check pgreclaim.admin.user and its password", failure);
        }
        Refusal adminRefusal = Refusal.classify(failure);
        // the driver's message may repeat a URL: never verbatim
        String message = SafeText.scrubUrls(failure.getMessage());
        if (adminRefusal != null && adminRefusal.kind() == LimitKind.DATABASE) {
            return ReclaimResult.failed(FailureCause.ADMIN_UNAVAILABLE, "the admin login to " + adminUrl
                    + " was refused by that database's connection limit (" + message + "); point"
                    + " pgreclaim.admin.url at another database, or use a superuser admin role", failure);
        }
        if (adminRefusal != null && adminRefusal.kind() == LimitKind.ROLE) {
            return ReclaimResult.failed(FailureCause.ADMIN_UNAVAILABLE, "the admin login to " + adminUrl
                    + " was refused by the admin role's own connection limit (" + message + ");"
                    + " use a separate admin role without a CONNECTION LIMIT", failure);
        }
        if (adminRefusal != null && adminRefusal.kind() == LimitKind.SERVER) {
            return ReclaimResult.failed(FailureCause.ADMIN_UNAVAILABLE, "the admin login to " + adminUrl
                    + " was refused too (" + message + "): no process slot is left for anyone, not"
                    + " even a superuser; only an admin session kept open from an earlier reclaim"
                    + " (pgreclaim.admin.keep-alive) can act then", failure);
        }
        if (SqlStates.TOO_MANY_CONNECTIONS.equals(state)) {
            return ReclaimResult.failed(FailureCause.ADMIN_UNAVAILABLE, "the admin login to " + adminUrl
                    + " was refused too (" + message + "): only reserved slots are left, so the"
                    + " admin role must be a superuser (PG16+: or a member of pg_use_reserved_connections)",
                    failure);
        }
        return ReclaimResult.failed(FailureCause.ADMIN_UNAVAILABLE, "the admin connection to " + adminUrl
                + " could not be opened" + (state == null ? "" : " (SQLState " + state + ")") + ": "
                + message + "; check pgreclaim.admin.url and that the server is reachable", failure);
    }

    private static ReclaimResult sqlFailure(SQLException failure) {
        String state = failure.getSQLState();
        if (SqlStates.INSUFFICIENT_PRIVILEGE.equals(state)) {
            return ReclaimResult.failed(FailureCause.NO_PRIVILEGE, "the admin role may not terminate the session;"
                    + " grant it pg_signal_backend (GRANT pg_signal_backend TO <admin>)", failure);
        }
        if (SqlStates.LOCK_NOT_AVAILABLE.equals(state)) {
            return ReclaimResult.failed(FailureCause.LOCK_TIMEOUT, "another JVM's reclaim for this role held the"
                    + " reclaim lock past the deadline", failure);
        }
        return ReclaimResult.failed(FailureCause.ADMIN_UNAVAILABLE, "the admin session failed"
                + (state == null ? "" : " (SQLState " + state + ")"), failure);
    }

    /**
     * Observe mode: names the session that would be terminated, killing nothing. At most one query a second per
     * site, so an application retrying in a tight loop does not hammer the server with admin queries.
     */
    void observe(Object driver, VictimScope scope, VictimRules rules, long deadlineNanos, String refusalLine,
            KillGuards guards) {
        if (!lock.tryLock()) {
            return;
        }
        try {
            long now = System.nanoTime();
            if (now - lastObservationNanos < TimeUnit.SECONDS.toNanos(1)) {
                unreportedObservations++;
                return;
            }
            lastObservationNanos = now;
            String more = unreportedObservations == 0 ? ""
                    : " (+" + unreportedObservations + " refusal(s) not reported in the last second)";
            unreportedObservations = 0;
            Connection connection;
            try {
                connection = admin.acquire(driver, deadlineNanos);
            } catch (SQLException | RuntimeException adminFailure) {
                admin.close();
                ReclaimResult failure = adminConnectFailure(adminFailure,
                        ConnectTarget.withoutParameters(admin.url()));
                ReclaimLog.warn("pg-reclaim: observe: {}; cannot name a would-be victim: {}{}", refusalLine,
                        failure.detail, more);
                return;
            }
            boolean healthy = true;
            try {
                List<Victim> candidates = VictimQuery.candidates(connection, scope, rules, guards, 1);
                if (candidates.isEmpty()) {
                    ReclaimResult why = explainNoVictim(connection, scope, rules, guards);
                    ReclaimLog.warn("pg-reclaim: observe: {}; no session would be terminated: {}{}", refusalLine,
                            why.detail, more);
                } else {
                    ReclaimLog.warn("pg-reclaim: observe: {}; would terminate {} (mode=observe: nothing terminated){}",
                            refusalLine, candidates.get(0).describe(), more);
                }
            } catch (SQLException sqlFailure) {
                healthy = false;
                ReclaimLog.warn("pg-reclaim: observe: {}; cannot name a would-be victim: {}{}", refusalLine,
                        sqlFailure(sqlFailure).detail, more);
            } finally {
                admin.release(healthy);
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * The rehearsal ({@code pgreclaim.rehearse}): what a reclaim does, once, on a background thread, so that the first
     * real one runs code that has run before: the admin login, the lock, the victim selection in its select-only form
     * (killing nothing), one exit poll, the unlock and the keep-alive scheduling. It runs on a session of its own,
     * not a site's (so a real reclaim never waits for it), which is closed at once. Never throws.
     *
     * @return what happened, for the log line; starts with "failed" when something did
     */
    static String rehearse(AdminSession admin, Object driver, VictimScope scope, VictimRules rules,
            KillGuards guards, long deadlineNanos) {
        Connection connection;
        try {
            connection = admin.acquire(driver, deadlineNanos);
        } catch (SQLException | RuntimeException adminFailure) {
            admin.close();
            return "failed: " + adminConnectFailure(adminFailure, ConnectTarget.withoutParameters(admin.url())).detail;
        }
        boolean healthy = true;
        try {
            boolean locked = false;
            try {
                ReclaimLock.acquire(connection, scope.role(), REHEARSAL_LOCK_WAIT_MILLIS);
                locked = true;
            } catch (SQLException lockBusy) {
                if (!SqlStates.LOCK_NOT_AVAILABLE.equals(lockBusy.getSQLState())) {
                    throw lockBusy;
                }
                // another JVM is reclaiming for this role right now: rehearse the rest without the lock
            }
            int eligible = VictimQuery.candidates(connection, scope, rules, guards, 1).size();
            VictimQuery.awaitExit(connection, NO_SUCH_PID, System.nanoTime());
            if (locked) {
                ReclaimLock.release(connection, scope.role());
            }
            return eligible == 0 ? "no session would be terminated now" : "a session would be eligible now";
        } catch (SQLException sqlFailure) {
            healthy = false;
            return "failed: " + sqlFailure(sqlFailure).detail;
        } catch (RuntimeException unexpected) {
            healthy = false;
            return "failed: " + unexpected;
        } finally {
            // As after a reclaim (this schedules the keep-alive close, starting its thread), then closed now.
            admin.release(healthy);
            admin.close();
        }
    }

    void close() {
        admin.close();
    }

    private static long remainingMillis(long deadlineNanos) {
        return Math.max(1, (deadlineNanos - System.nanoTime()) / 1_000_000L);
    }
}
