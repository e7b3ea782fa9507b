package dev.pgreclaim.reclaim;

/**
 * At most N terminations per sliding window in this JVM: the brake against a kill storm when something keeps
 * re-filling the role (a pool growing back, a reconnect loop elsewhere). Past it the agent hands back the original
 * 53300 at once.
 */
final class TerminationBudget {
    private final long[] grants;
    private final long windowNanos;
    private int next;

    TerminationBudget(int terminations, long windowMillis) {
        this.grants = new long[terminations];
        this.windowNanos = windowMillis * 1_000_000L;
        long longAgo = System.nanoTime() - windowNanos - 1;
        for (int i = 0; i < grants.length; i++) {
            grants[i] = longAgo;
        }
    }

    /** Takes one termination from the window; false when the window is spent. */
    synchronized boolean tryAcquire(long nowNanos) {
        // grants is a ring of the last N grant times; the oldest sits at next.
        if (nowNanos - grants[next] <= windowNanos) {
            return false;
        }
        grants[next] = nowNanos;
        next = (next + 1) % grants.length;
        return true;
    }

    /** Gives back the last grant (no session was terminated after all). */
    synchronized void refund() {
        next = (next - 1 + grants.length) % grants.length;
        grants[next] = System.nanoTime() - windowNanos - 1;
    }
}
