package dev.pgreclaim.reclaim;

import java.util.concurrent.ThreadLocalRandom;

/**
 * Waits between retries of a refused open while a terminated victim finishes exiting: 1, 2, 4, 8, 16 ms, each with
 * +-50% jitter so that racing threads and JVMs do not retry in lock step. After a victim that was still exiting when
 * the exit wait ran out, the steps go on doubling up to {@value #MAX_LONG_WAIT_STEP_MICROS} us, since each retry is a
 * full login.
 */
final class Backoff {
    static final long MAX_STEP_MICROS = 16_000;
    static final long MAX_LONG_WAIT_STEP_MICROS = 128_000;

    private long stepMicros = 1_000;
    private long maxStepMicros = MAX_STEP_MICROS;

    void reset() {
        stepMicros = 1_000;
        maxStepMicros = MAX_STEP_MICROS;
    }

    /** As {@link #reset()}, for a wait that may last until the deadline. */
    void resetForLongWait() {
        stepMicros = 1_000;
        maxStepMicros = MAX_LONG_WAIT_STEP_MICROS;
    }

    /** The next pause in microseconds, never more than {@code remainingMicros}. */
    long nextMicros(long remainingMicros) {
        long jittered = stepMicros / 2 + ThreadLocalRandom.current().nextLong(stepMicros + 1);
        stepMicros = Math.min(stepMicros * 2, maxStepMicros);
        return Math.max(0, Math.min(jittered, remainingMicros));
    }
}
