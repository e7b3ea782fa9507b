package dev.pgreclaim.agent;

import dev.pgreclaim.log.AgentLog;
import dev.pgreclaim.metrics.FailureCause;
import dev.pgreclaim.metrics.ReclaimMetrics;
import dev.pgreclaim.reclaim.OpenAttempt;
import dev.pgreclaim.reclaim.Reclaimer;
import dev.pgreclaim.reclaim.ReentryGuard;
import dev.pgreclaim.reclaim.Refusal;
import java.util.Properties;
import java.util.function.Function;

/**
 * The handler behind {@link dev.pgreclaim.agent.bridge.ConnectBridge}: turns one exit of the woven
 * {@code connect} into "retry" or "hand back". Whatever fails in here, the application gets its original outcome.
 */
final class ConnectInterceptor implements Function<Object[], Object> {
    /**
     * Test hook, deliberately outside the {@code pgreclaim.} namespace: {@code -Ddev.pgreclaim.faultInjection=WHERE}
     * makes the reclaim path throw, to prove the application then gets exactly its original outcome. WHERE is
     * {@code refusal} (or {@code true}: at the first refusal, before any reclaim), {@code after-termination} (once a
     * round has terminated a session, before the retry) or {@code retry} (at the exit of a retried open).
     */
    static final String FAULT_INJECTION_PROPERTY = "dev.pgreclaim.faultInjection";
    private static final int FAULT_NONE = 0;
    private static final int FAULT_AT_REFUSAL = 1;
    private static final int FAULT_AFTER_TERMINATION = 2;
    private static final int FAULT_AT_RETRY = 3;

    private final Reclaimer reclaimer;
    private final ReclaimMetrics metrics;
    private final int injectFault;

    ConnectInterceptor(Reclaimer reclaimer, ReclaimMetrics metrics) {
        this.reclaimer = reclaimer;
        this.metrics = metrics;
        this.injectFault = faultFrom(System.getProperty(FAULT_INJECTION_PROPERTY));
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

    @Override
    public Object apply(Object[] call) {
        try {
            return handle(call[0], (String) call[1], (Properties) call[2], call[3], (Throwable) call[4],
                    (Object[]) call[5]) ? Boolean.TRUE : Boolean.FALSE;
        } catch (Throwable agentFailure) {
            metrics.failure(FailureCause.INTERNAL_ERROR);
            AgentLog.warnOnce("internal-error", "pg-reclaim: internal error, the application got its original"
                    + " outcome: {}", agentFailure.toString());
            return Boolean.FALSE;
        }
    }

    private boolean handle(Object driver, String url, Properties info, Object result, Throwable thrown,
            Object[] round) {
        if (ReentryGuard.isInside()) {
            // The agent's own admin login: never reclaim for it, never count it as the application's session.
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
