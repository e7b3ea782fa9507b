package dev.pgreclaim.reclaim;

import dev.pgreclaim.log.AgentLog;
import dev.pgreclaim.metrics.FailureCause;
import dev.pgreclaim.metrics.ReclaimMetrics;
import dev.pgreclaim.policy.Durations;
import java.sql.SQLException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * One refused open being recovered: decides, at each exit of the woven {@code connect}, whether to retry, and keeps
 * what was tried so the caller can see it if the agent gives up. The caller then gets its original exception, with a
 * suppressed {@link SQLException} saying what the agent tried and why it stopped.
 *
 * <p>Per round: terminate one victim (single-flight per role, budgeted, under the cross-JVM lock), then retry the open
 * at once; while the victim's slot may still be in use (a short settle window after its exit showed in
 * pg_stat_activity), retry with a jittered 1-16 ms backoff; after that, a further 53300 means someone else took the
 * slot, and the next round terminates another victim, up to {@code max-attempts}. Everything is bounded by the
 * deadline: {@code pgreclaim.deadline} from the first refusal, and the caller's {@code loginTimeout}.
 */
public final class OpenAttempt {
    /** After a victim left pg_stat_activity, how long a 53300 still counts as "its slot is not free yet". */
    static final long SETTLE_MILLIS = 30;

    private final Reclaimer reclaimer;
    private final ReclaimSite site;
    private final Object driver;
    private final VictimScope scope;
    private final Refusal refusal;
    private final Throwable original;
    private final ConnectTarget target;
    private final long startNanos;
    private final long deadlineNanos;
    private final Backoff backoff = new Backoff();
    private final StringBuilder terminatedPids = new StringBuilder();

    private int attempts;
    private int retries;
    private long settleUntilNanos;
    private Throwable lastFailure;

    OpenAttempt(Reclaimer reclaimer, ReclaimSite site, Object driver, VictimScope scope, Refusal refusal,
            Throwable original, ConnectTarget target, long startNanos, long deadlineNanos) {
        this.original = original;
        this.reclaimer = reclaimer;
        this.site = site;
        this.driver = driver;
        this.scope = scope;
        this.refusal = refusal;
        this.target = target;
        this.startNanos = startNanos;
        this.deadlineNanos = deadlineNanos;
    }

    /**
     * Called at the first refusal and after every retry. Returns true to re-run the open.
     *
     * @param thrown the outcome of the open just run: null when it returned a connection
     */
    public boolean onExit(Throwable thrown) {
        ReclaimMetrics metrics = reclaimer.metrics();
        if (thrown == null) {
            metrics.recovered();
            AgentLog.info("pg-reclaim: open to {} as role {} recovered in {} ms after terminating {} ({} retries)",
                    target.describe(), scope.role(), elapsedMillis(), terminatedPids.length() > 0 ? terminatedPids
                            : "nothing (a slot came free on its own)", retries);
            return false;
        }
        if (retries > 0) {
            lastFailure = thrown;
            Refusal again = Refusal.classify(thrown);
            if (again == null) {
                return giveUp(FailureCause.RETRY_FAILED, "a retry failed with another error: " + thrown, thrown);
            }
        }
        long now = System.nanoTime();
        if (now >= deadlineNanos) {
            return giveUp(FailureCause.DEADLINE, "deadline reached", null);
        }
        if (now < settleUntilNanos) {
            return pauseAndRetry();
        }
        if (attempts >= reclaimer.policy().maxAttempts()) {
            return giveUp(FailureCause.MAX_ATTEMPTS, "each of " + attempts + " terminations was followed by"
                    + " another refusal (the freed slots were taken by other sessions)", null);
        }
        metrics.reclaimAttempted();
        ReclaimResult result = site.reclaim(driver, scope, reclaimer.policy().victimRules(),
                deadlineNanos, reclaimer.budget());
        switch (result.kind) {
            case TERMINATED:
                attempts++;
                Victim victim = result.victim;
                terminatedPids.append(terminatedPids.length() == 0 ? "pid " : ", pid ").append(victim.pid());
                String summary = AuditLine.fields(victim, refusal.describe() + " refused an open to "
                        + target.describe() + "; longest-idle eligible session (min-idle "
                        + Durations.format(reclaimer.policy().victimRules().minIdleMillis()) + ")") + " attempt="
                        + attempts + "/" + reclaimer.policy().maxAttempts();
                metrics.terminated(summary);
                AgentLog.audit("terminated {}", summary);
                backoff.reset();
                settleUntilNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(SETTLE_MILLIS);
                retries++;
                return true;
            case JOINED:
                // The chosen session left between selection and signal: its slot is free without a termination.
                // Try for it, with a settle window, so this open does not terminate another session at once.
                settleUntilNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(SETTLE_MILLIS);
                retries++;
                return true;
            default:
                if (result.cause == FailureCause.INTERRUPTED) {
                    Thread.currentThread().interrupt();
                }
                return giveUp(result.cause, result.detail, result.error);
        }
    }

    private boolean pauseAndRetry() {
        long remainingMicros = (deadlineNanos - System.nanoTime()) / 1000;
        long pauseMicros = backoff.nextMicros(remainingMicros);
        if (pauseMicros > 0) {
            LockSupport.parkNanos(pauseMicros * 1000);
        }
        if (Thread.interrupted()) {
            Thread.currentThread().interrupt();
            return giveUp(FailureCause.INTERRUPTED, "interrupted while waiting to retry", null);
        }
        retries++;
        return true;
    }

    private boolean giveUp(FailureCause cause, String detail, Throwable error) {
        reclaimer.metrics().failure(cause);
        String summary = "pg-reclaim: " + refusal.describe() + " for role " + scope.role() + " at " + target.describe()
                + ": " + (attempts == 0 ? "no session terminated" : "terminated " + terminatedPids) + ", " + retries
                + " retries in " + elapsedMillis() + " ms; gave up: " + cause.token() + " (" + detail + ")";
        SQLException whatWasTried = new SQLException(summary);
        Throwable why = error != null ? error : lastFailure;
        if (why != null && why != original) {
            whatWasTried.initCause(why);
        }
        try {
            original.addSuppressed(whatWasTried);
        } catch (RuntimeException suppressionDisabled) {
            // An exception built with suppression disabled: the log line below still says it.
        }
        AgentLog.warnOnce("give-up:" + cause + ":" + site.adminUrl() + ":" + scope.role(), "{}", summary);
        return false;
    }

    private long elapsedMillis() {
        return (System.nanoTime() - startNanos) / 1_000_000L;
    }

    /** The exception the caller gets if the agent gives up: the first refusal, as the driver threw it. */
    public Throwable original() {
        return original;
    }
}
