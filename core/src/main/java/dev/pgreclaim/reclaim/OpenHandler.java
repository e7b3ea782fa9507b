package dev.pgreclaim.reclaim;

import dev.pgreclaim.log.ReclaimLog;
import dev.pgreclaim.metrics.FailureCause;
import dev.pgreclaim.metrics.ReclaimMetrics;
import java.util.Properties;

/**
 * One open as every entry point sees it (the agent's woven {@code Driver.connect}, the wrapper driver, the wrapper
 * {@code DataSource}): each run of the real open ends in {@link #onExit}, which answers "run it again" (with the
 * retry's URL and properties in the round) or "hand back" (with what to throw in the round). The entry points only
 * loop; what happens on a refusal is decided here, once. Whatever fails in here, the caller gets its original
 * outcome.
 *
 * <p>The round of one open: [0] start nanos (a {@code Long}), [1] what to throw if the open ends in a failure (the
 * original refusal unless this handler chose otherwise), [2] this handler's per-open state, [3] the Properties and
 * [4] the URL for the next run (null: unchanged).
 */
public final class OpenHandler {
    /**
     * Test hook, deliberately outside the {@code pgreclaim.} namespace: {@code -Ddev.pgreclaim.faultInjection=WHERE}
     * makes the reclaim path throw, to prove the application then gets exactly its original outcome. WHERE is
     * {@code refusal} (or {@code true}: at the first refusal, before any reclaim), {@code after-termination} (once a
     * round has terminated a session, before the retry) or {@code retry} (at the exit of a retried open).
     */
    public static final String FAULT_INJECTION_PROPERTY = "dev.pgreclaim.faultInjection";
    /**
     * Key of a non-String entry that an outer pg-reclaim entry point (the wrapper driver) and pg-reclaim's own admin
     * login put into the Properties they hand to pgjdbc: the open belongs to that entry point, and a woven driver
     * underneath (the agent in the same JVM) leaves it alone. pgjdbc reads only String entries and never sees it, and
     * it works across class loaders (an agent on the system class path, a wrapper inside a web application).
     */
    public static final String OWNER_KEY = "dev.pgreclaim.open-owner";
    private static final Object OWNER_TOKEN = new Object() {
        @Override
        public String toString() {
            return "pg-reclaim";
        }
    };
    /** Set while an outer entry point that cannot mark the Properties (the wrapper DataSource) runs its open. */
    private static final ThreadLocal<Boolean> OWNED = new ThreadLocal<Boolean>();
    /** The size of the round array an entry point hands to {@link #onExit}. */
    public static final int ROUND_SIZE = 5;
    private static final int FAULT_NONE = 0;
    private static final int FAULT_AT_REFUSAL = 1;
    private static final int FAULT_AFTER_TERMINATION = 2;
    private static final int FAULT_AT_RETRY = 3;

    private final Reclaimer reclaimer;
    private final ReclaimMetrics metrics;
    private final int injectFault;

    public OpenHandler(Reclaimer reclaimer, ReclaimMetrics metrics) {
        this.reclaimer = reclaimer;
        this.metrics = metrics;
        this.injectFault = faultFrom(System.getProperty(FAULT_INJECTION_PROPERTY));
    }

    /** A fresh round for one open, started now. */
    public static Object[] newRound() {
        Object[] round = new Object[ROUND_SIZE];
        round[0] = Long.valueOf(System.nanoTime());
        return round;
    }

    /** A copy of {@code info} (may be null) carrying the owner mark, for the open an entry point hands to pgjdbc. */
    public static Properties ownedCopy(Properties info) {
        Properties copy = new Properties();
        if (info != null) {
            for (String name : info.stringPropertyNames()) {
                copy.setProperty(name, info.getProperty(name));
            }
        }
        markOwned(copy);
        return copy;
    }

    /** Puts the owner mark into {@code properties}. */
    public static void markOwned(Properties properties) {
        properties.put(OWNER_KEY, OWNER_TOKEN);
    }

    /** Marks this thread's opens as an outer entry point's until {@link #endOwned()} (always in a finally). */
    public static void beginOwned() {
        OWNED.set(Boolean.TRUE);
    }

    public static void endOwned() {
        OWNED.remove();
    }

    /** True when another pg-reclaim entry point (or pg-reclaim's admin login) owns this open. */
    public static boolean ownedElsewhere(Properties info) {
        if (OWNED.get() != null) {
            return true;
        }
        Object mark = info == null ? null : info.get(OWNER_KEY);
        return mark != null && !(mark instanceof String);
    }

    private static int faultFrom(String where) {
        if ("true".equals(where) || "refusal".equals(where)) {
            return FAULT_AT_REFUSAL;
        }
        if ("after-termination".equals(where)) {
            return FAULT_AFTER_TERMINATION;
        }
        return "retry".equals(where) ? FAULT_AT_RETRY : FAULT_NONE;
    }

    private static IllegalStateException injected(String where) {
        return new IllegalStateException("fault injected by " + FAULT_INJECTION_PROPERTY + " " + where);
    }

    /**
     * One run of the open has ended with {@code result} or {@code thrown}; true to run it again. Never throws: an
     * internal failure is counted, logged once and answered with "hand back", which leaves round[1] as it was.
     */
    public boolean onExit(Object driver, String url, Properties info, Object result, Throwable thrown,
            Object[] round) {
        try {
            return handle(driver, url, info, result, thrown, round);
        } catch (Throwable internalFailure) {
            metrics.failure(FailureCause.INTERNAL_ERROR);
            ReclaimLog.warnOnce("internal-error", "pg-reclaim: internal error, the application got its original"
                    + " outcome: {}", internalFailure.toString());
            return false;
        }
    }

    private boolean handle(Object driver, String url, Properties info, Object result, Throwable thrown,
            Object[] round) {
        if (ReentryGuard.isInside() || ownedElsewhere(info)) {
            // pg-reclaim's own admin login, or an open an outer entry point (the wrapper) handles: never reclaim for
            // it here, never count it as the application's session here.
            return false;
        }
        if (thrown == null) {
            reclaimer.opened(driver, url, info, result);
        }
        OpenAttempt attempt = (OpenAttempt) round[2];
        if (attempt == null) {
            if (thrown == null) {
                return false;
            }
            Refusal refusal = Refusal.classify(thrown);
            if (refusal == null) {
                return false;
            }
            if (injectFault == FAULT_AT_REFUSAL) {
                throw injected("at the refusal");
            }
            long openStart = round[0] instanceof Long ? (Long) round[0] : System.nanoTime();
            attempt = reclaimer.onRefusal(driver, url, info, refusal, thrown, openStart);
            if (attempt == null) {
                return false;
            }
            round[1] = thrown;
            round[2] = attempt;
        } else if (injectFault == FAULT_AT_RETRY) {
            throw injected("at the retry");
        }
        long terminationsBefore = metrics.terminations();
        boolean retry = attempt.onExit(thrown);
        if (injectFault == FAULT_AFTER_TERMINATION && metrics.terminations() > terminationsBefore) {
            throw injected("after a termination");
        }
        if (retry) {
            // The caller's url and info stay the caller's; the retry runs with copies carrying the time left.
            round[3] = attempt.retryInfo(info);
            String retryUrl = attempt.retryUrl(url);
            if (retryUrl != null) {
                round[4] = retryUrl;
            }
        } else if (thrown != null) {
            round[1] = attempt.handBack();
        }
        return retry;
    }
}
