package dev.pgreclaim.reclaim;

import dev.pgreclaim.policy.Durations;
import dev.pgreclaim.policy.VictimRules;

/**
 * Why {@link VictimQuery#terminateOne} terminates nothing, from one statement (one {@code pg_stat_activity}
 * snapshot): the role's sessions as the admin role sees them, and which guard or limit would still refuse the open.
 */
public final class NoVictim {
    /** The first reason that applies, in the order an operator should act on them. */
    public enum Reason {
        /** An idle session of the requesting application exists: it is not starving, so nothing is ended. */
        REQUESTER_NOT_STARVING,
        /** The admin role sees no state for the role's sessions (it lacks {@code pg_read_all_stats}). */
        STATE_HIDDEN,
        /** The open's database would still be at its connection limit after any possible kill. */
        DATABASE_FULL,
        /** A non-superuser would still find no non-reserved process slot after any possible kill. */
        SERVER_FULL,
        /** No session of the scope passes the victim rules (or every one is already exiting). */
        NO_ELIGIBLE
    }

    private final VictimScope scope;
    private final long minIdleMillis;
    private final boolean listenersProtected;
    private final int sessions;
    private final int hidden;
    private final int idle;
    private final int active;
    private final int listeners;
    private final int eligible;
    private final int ready;
    private final int requesterIdle;
    private final String fullDatabase;
    private final int databaseLimit;
    private final int databaseSessions;
    private final boolean serverFull;
    private final int slotsUsed;
    private final int slotsUsable;

    NoVictim(VictimScope scope, VictimRules rules, int sessions, int hidden, int idle, int active, int listeners,
            int eligible, int ready, int requesterIdle, String fullDatabase, int databaseLimit, int databaseSessions,
            boolean serverFull, int slotsUsed, int slotsUsable) {
        this.scope = scope;
        this.minIdleMillis = rules.minIdleMillis();
        this.listenersProtected = rules.protectListeners();
        this.sessions = sessions;
        this.hidden = hidden;
        this.idle = idle;
        this.active = active;
        this.listeners = listeners;
        this.eligible = eligible;
        this.ready = ready;
        this.requesterIdle = requesterIdle;
        this.fullDatabase = fullDatabase;
        this.databaseLimit = databaseLimit;
        this.databaseSessions = databaseSessions;
        this.serverFull = serverFull;
        this.slotsUsed = slotsUsed;
        this.slotsUsable = slotsUsable;
    }

    public Reason reason() {
        if (requesterIdle > 0) {
            return Reason.REQUESTER_NOT_STARVING;
        }
        if (hidden > 0 && ready == 0) {
            return Reason.STATE_HIDDEN;
        }
        if (fullDatabase != null) {
            return Reason.DATABASE_FULL;
        }
        if (serverFull) {
            return Reason.SERVER_FULL;
        }
        return Reason.NO_ELIGIBLE;
    }

    /** Client sessions of the scope, this admin session excluded. */
    public int sessions() {
        return sessions;
    }

    /** Sessions whose state the admin role cannot see: grant it pg_read_all_stats. */
    public int hidden() {
        return hidden;
    }

    public int idle() {
        return idle;
    }

    public int active() {
        return active;
    }

    /** Idle sessions spared because their last statement was LISTEN. */
    public int listeners() {
        return listeners;
    }

    /** Sessions passing the victim rules, whether or not they are already exiting or excluded. */
    public int eligible() {
        return eligible;
    }

    /** Eligible sessions not signalled yet (waiting for their client, not excluded): what the guards then judge. */
    public int ready() {
        return ready;
    }

    /** Idle sessions among the requester's own pids. */
    public int requesterIdle() {
        return requesterIdle;
    }

    /** The open's database when its connection limit would still refuse the open, else null. */
    public String fullDatabase() {
        return fullDatabase;
    }

    public int databaseLimit() {
        return databaseLimit;
    }

    /** Backends counted against the open's database limit (as PostgreSQL counts them). */
    public int databaseSessions() {
        return databaseSessions;
    }

    /** True when a non-superuser would still find no non-reserved slot. */
    public boolean serverFull() {
        return serverFull;
    }

    /** Client backends on the server, this admin session included. */
    public int slotsUsed() {
        return slotsUsed;
    }

    /** max_connections minus the reserved slots. */
    public int slotsUsable() {
        return slotsUsable;
    }

    /** One sentence for an operator: what refused, with the counts, and what to do if anything. */
    public String describe() {
        switch (reason()) {
            case REQUESTER_NOT_STARVING:
                return "the requesting application already holds " + requesterIdle + " idle session(s) of role "
                        + scope.role() + " (idle " + VictimQuery.REQUESTER_SPARE_MILLIS / 1000 + " s or more): it is"
                        + " not starving (a pool topping itself up), so no session is terminated";
            case STATE_HIDDEN:
                return "the admin role sees no state for " + hidden + " session(s) of role " + scope.role()
                        + "; grant it pg_read_all_stats (GRANT pg_read_all_stats TO <admin>)";
            case DATABASE_FULL:
                return "database " + fullDatabase + " would still refuse the open: " + databaseSessions
                        + " session(s) against its connection limit " + databaseLimit + ", and no eligible session of "
                        + scope + " is in it, so no session is terminated";
            case SERVER_FULL:
                return "the server would still refuse the open: " + slotsUsed + " client session(s) for "
                        + slotsUsable + " non-reserved slot(s) even after one termination, so no session is"
                        + " terminated";
            default:
                return "no eligible session of " + scope + ": " + sessions + " session(s), " + active + " active, "
                        + idle + " idle" + (listeners > 0 ? ", " + listeners + " spared as LISTEN sessions" : "")
                        + (eligible > ready ? ", " + (eligible - ready) + " already signalled and exiting" : "")
                        + " (a victim must be idle for at least " + Durations.format(minIdleMillis)
                        + ", waiting for its client, hold no advisory lock"
                        + (listenersProtected ? ", not be listening" : "") + " and match no protect pattern)";
        }
    }

    @Override
    public String toString() {
        return describe();
    }
}
