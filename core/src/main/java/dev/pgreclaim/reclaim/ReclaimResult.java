package dev.pgreclaim.reclaim;

import dev.pgreclaim.metrics.FailureCause;

/** What one reclaim round did. */
final class ReclaimResult {
    enum Kind {
        /** A victim was terminated and has left pg_stat_activity (or the exit wait ran out). */
        TERMINATED,
        /** The chosen session left by itself before the signal: its slot is free, retry without terminating. */
        JOINED,
        /** Nothing was terminated; {@link #cause} says why. */
        FAILED
    }

    final Kind kind;
    final Victim victim;
    final FailureCause cause;
    final String detail;
    final Throwable error;
    /** Terminated, and still in pg_stat_activity when the exit wait ran out: its slot comes free later. */
    final boolean stillExiting;

    private ReclaimResult(Kind kind, Victim victim, FailureCause cause, String detail, Throwable error) {
        this(kind, victim, cause, detail, error, false);
    }

    private ReclaimResult(Kind kind, Victim victim, FailureCause cause, String detail, Throwable error,
            boolean stillExiting) {
        this.kind = kind;
        this.victim = victim;
        this.cause = cause;
        this.detail = detail;
        this.error = error;
        this.stillExiting = stillExiting;
    }

    static ReclaimResult terminated(Victim victim) {
        return new ReclaimResult(Kind.TERMINATED, victim, null, null, null);
    }

    /** Terminated; the victim had not left when the exit wait ran out (thousands of temp tables to drop, say). */
    static ReclaimResult terminatedStillExiting(Victim victim) {
        return new ReclaimResult(Kind.TERMINATED, victim, null, null, null, true);
    }

    /**
     * A victim was terminated, but the admin session failed afterwards (its exit was not confirmed): still a
     * termination, audited, counted and charged; {@link #detail} and {@link #error} say what failed.
     */
    static ReclaimResult terminatedUnconfirmed(Victim victim, String detail, Throwable error) {
        return new ReclaimResult(Kind.TERMINATED, victim, null, detail, error);
    }

    static ReclaimResult joined() {
        return new ReclaimResult(Kind.JOINED, null, null, null, null);
    }

    static ReclaimResult failed(FailureCause cause, String detail, Throwable error) {
        return new ReclaimResult(Kind.FAILED, null, cause, detail, error);
    }
}
