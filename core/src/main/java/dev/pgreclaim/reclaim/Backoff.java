package dev.pgreclaim.reclaim;

import java.util.concurrent.ThreadLocalRandom;

/**
 * Waits between retries of a refused open while a terminated victim finishes exiting: 1, 2, 4, 8, 16 ms, each with
 * +-50% jitter so that racing threads and JVMs do not retry in lock step.
 */
final class Backoff {
    static final long MAX_STEP_MICROS = 16_000;

    private long stepMicros = 1_000;

    void reset() {
        stepMicros = 1_000;
    }

    /** The next pause in microseconds, never more than {@code remainingMicros}. */
    long nextMicros(long remainingMicros) {
        long jittered = stepMicros / 2 + ThreadLocalRandom.current().nextLong(stepMicros + 1);
        stepMicros = Math.min(stepMicros * 2, MAX_STEP_MICROS);
        return Math.max(0, Math.min(jittered, remainingMicros));
    }
}
