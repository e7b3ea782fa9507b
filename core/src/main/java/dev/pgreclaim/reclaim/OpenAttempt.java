package dev.pgreclaim.reclaim;

import dev.pgreclaim.log.ReclaimLog;
import dev.pgreclaim.metrics.FailureCause;
import dev.pgreclaim.metrics.ReclaimMetrics;
import dev.pgreclaim.policy.Durations;
import dev.pgreclaim.policy.LimitKind;
import java.sql.SQLException;
import java.util.Locale;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * One refused open being recovered: decides, at each exit of the open, whether to retry, and keeps what was tried so
 * the caller can see it if the agent gives up.
 *
 * <p>Per round: terminate one victim (single-flight per role, budgeted, under the cross-JVM lock), then retry the open
 * at once; while the victim's slot may still be in use (a short settle window after its exit showed in
 * pg_stat_activity; until the deadline when the victim had not left by the end of the exit wait), retry with a
 * jittered backoff; after that, a further 53300 means someone else took the
 * slot, and the next round terminates another victim, up to {@code max-attempts}. A retry refused by another limit is
 * classified again: a kind the policy does not act on ends the attempt. Everything is bounded by the deadline:
 * {@code pgreclaim.deadline} from the first refusal, and the caller's {@code loginTimeout} from the start of the open,
 * which each retry is given as its own login timeout for the time left.
 *
 * <p>What the caller gets when the agent gives up: the first refusal, as the driver threw it, with a suppressed
 * {@link SQLException} saying what was tried; but when a retry failed with anything other than 53300, that failure
 * itself, with the first refusal attached as suppressed.
 */
public final class OpenAttempt {
    /** After a victim left pg_stat_activity, how long a 53300 still counts as "its slot is not free yet". */
    static final long SETTLE_MILLIS = 30;
    /** A retry without a caller's login timeout is bounded too: by the time left, but at least this long. */
    static final long MIN_RETRY_LOGIN_MILLIS = 1000;

    private final Reclaimer reclaimer;
    private final Object driver;
    private final Throwable original;
    private final ConnectTarget target;
    private final long startNanos;
    private final long deadlineNanos;
    /** Until when the caller's own login timeout allows the open to run; Long.MAX_VALUE without one. */
    private final long callerDeadlineNanos;
    /** How long the refused login took: a retry gets at least twice that when the caller set no login timeout. */
    private final long firstLoginNanos;
    private final Backoff backoff = new Backoff();
    private final StringBuilder terminatedPids = new StringBuilder();

    private Refusal refusal;
    private ReclaimSite site;
    private VictimScope scope;
    private int attempts;
    private int retries;
    private long settleUntilNanos;
    private Throwable lastFailure;
    private Throwable handBack;

    OpenAttempt(Reclaimer reclaimer, ReclaimSite site, Object driver, VictimScope scope, Refusal refusal,
            Throwable original, ConnectTarget target, long openStartNanos, long startNanos, long deadlineNanos,
            long callerDeadlineNanos) {
        this.original = original;
        this.reclaimer = reclaimer;
        this.site = site;
        this.driver = driver;
        this.scope = scope;
        this.refusal = refusal;
        this.target = target;
        this.startNanos = startNanos;
        this.deadlineNanos = deadlineNanos;
        this.callerDeadlineNanos = callerDeadlineNanos;
        this.firstLoginNanos = Math.max(0, startNanos - openStartNanos);
        this.handBack = original;
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
            ReclaimLog.info("pg-reclaim: open to {} as role {} recovered in {} ms after terminating {} ({} retries)",
                    target.describe(), scope.role(), elapsedMillis(), terminatedPids.length() > 0 ? terminatedPids
                            : "nothing (a slot came free on its own)", retries);
            return false;
        }
        if (retries > 0) {
            lastFailure = thrown;
            Refusal again = Refusal.classify(thrown);
            if (again == null) {
                if (System.nanoTime() >= deadlineNanos && isConnectionFailure(thrown)) {
                    // The retry ran out of the time the agent gave it (the caller's login timeout, or the bound of
                    // one retry): a time-out the agent caused, so the caller gets its first refusal back.
                    return giveUp(FailureCause.DEADLINE, "the retry ran out of time: " + thrown, null);
                }
                return giveUp(FailureCause.RETRY_FAILED, "a retry failed with another error: " + thrown, thrown);
            }
            if (again.kind() != refusal.kind() && !switchTo(again)) {
                return giveUp(FailureCause.OTHER_LIMIT_FULL, "the retry was refused by the " + again.describe()
                        + ", which pgreclaim.act-on does not include", null);
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
        if (callerDeadlineNanos != Long.MAX_VALUE && callerDeadlineNanos - now < firstLoginNanos / 2) {
            // A retry authenticates in full, as the refused login did (which may have been slower only when it was
            // the JVM's first): a termination whose retry cannot finish within the caller's loginTimeout would free
            // a slot for nobody.
            return giveUp(FailureCause.DEADLINE, "too little of the caller's loginTimeout is left for a retry (the"
                    + " refused login took " + firstLoginNanos / 1_000_000L + " ms)", null);
        }
        metrics.reclaimAttempted();
        ReclaimResult result = site.reclaim(driver, scope, reclaimer.policy().victimRules(), deadlineNanos,
                reclaimer.budget(), guards());
        switch (result.kind) {
            case TERMINATED:
                attempts++;
                Victim victim = result.victim;
                terminatedPids.append(terminatedPids.length() == 0 ? "pid " : ", pid ").append(victim.pid());
                String summary = AuditLine.fields(victim, refusal.describe() + " refused an open to "
                        + target.describe() + "; longest-idle eligible session (min-idle "
                        + Durations.format(reclaimer.policy().victimRules().minIdleMillis()) + ")") + " attempt="
                        + attempts + "/" + reclaimer.policy().maxAttempts()
                        + (result.detail == null ? "" : " note=\"" + result.detail.replace('"', '\'') + "\"");
                metrics.terminated(summary);
                ReclaimLog.audit("terminated {}", summary);
                if (result.error != null) {
                    // Terminated and accounted for, but the admin session failed afterwards: the slot is most
                    // likely free all the same, so the open is retried; the next round, if any, logs in afresh.
                    lastFailure = result.error;
                }
                if (result.stillExiting) {
                    // The victim is still exiting (dropping thousands of temporary tables, say) and holds its slot
                    // until it has: every refusal until the deadline means "not free yet", never "taken by someone
                    // else", so no further session is terminated for this open, and the retries space out.
                    backoff.resetForLongWait();
                    settleUntilNanos = deadlineNanos;
                } else {
                    backoff.reset();
                    settleUntilNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(SETTLE_MILLIS);
                }
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

    /** What else must hold at kill time for this open: see {@link KillGuards}. */
    private KillGuards guards() {
        LimitKind kind = refusal.kind();
        // A role or database refusal is cured only if the server then has a slot for an ordinary login; for a
        // refusal by the server's own limits the kill is what frees that slot.
        boolean needServerSlot = kind == LimitKind.ROLE || kind == LimitKind.DATABASE;
        return KillGuards.of(site.signalledPids(), reclaimer.ownSessions().livePids(OwnSessions.key(target)),
                target.database(), needServerSlot);
    }

    /** A retry refused by another limit: act on that one if the policy says so (a new scope, maybe a new site). */
    private boolean switchTo(Refusal again) {
        if (again.kind() == LimitKind.UNKNOWN || !reclaimer.policy().actsOn(again.kind())) {
            return false;
        }
        refusal = again;
        scope = Reclaimer.scopeFor(again.kind(), scope.role(), target);
        site = reclaimer.siteFor(target, scope.role(), again.kind());
        settleUntilNanos = 0;
        return true;
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
        boolean retryFailure = cause == FailureCause.RETRY_FAILED && error != null && error != original;
        Throwable why = error != null ? error : lastFailure;
        if (why != null && why != original && !retryFailure) {
            whatWasTried.initCause(why);
        }
        suppress(original, whatWasTried);
        if (retryFailure) {
            // The retry's own failure (another SQLState, a RuntimeException, an Error) is the caller's outcome now;
            // the first refusal, with what was tried, travels with it.
            suppress(error, original);
            handBack = error;
        }
        if (cause == FailureCause.NOT_STARVING) {
            ReclaimLog.auditAtMostEvery("not-starving:" + site.adminUrl() + ":" + scope.role(), 10_000,
                    "not-acted role={} server={} reason=\"{}\"", scope.role(), target.describe(),
                    detail == null ? "" : detail.replace('"', '\''));
        } else {
            ReclaimLog.warnOnce("give-up:" + cause + ":" + site.adminUrl() + ":" + scope.role(), "{}", summary);
        }
        return false;
    }

    private static boolean isConnectionFailure(Throwable thrown) {
        String state = thrown instanceof SQLException ? ((SQLException) thrown).getSQLState() : null;
        return state != null && state.startsWith("08");
    }

    private static void suppress(Throwable onto, Throwable suppressed) {
        try {
            onto.addSuppressed(suppressed);
        } catch (RuntimeException suppressionDisabled) {
            // An exception built with suppression disabled: the log line still says it.
        }
    }

    private long elapsedMillis() {
        return (System.nanoTime() - startNanos) / 1_000_000L;
    }

    /** The exception the caller gets if the agent gives up: the first refusal, as the driver threw it. */
    public Throwable original() {
        return original;
    }

    /**
     * What the open throws once the agent stops: the first refusal, unless a retry failed with something other than
     * 53300 (then that failure, with the first refusal suppressed in it).
     */
    public Throwable handBack() {
        return handBack;
    }

    /**
     * The login timeout, in seconds, of the next retry: the time left of the caller's own login timeout; without one,
     * the time left before the deadline, but at least twice what the refused login took and at least
     * {@value #MIN_RETRY_LOGIN_MILLIS} ms, so that one retry is bounded however slow the login path is.
     */
    double retryLoginTimeoutSeconds() {
        long now = System.nanoTime();
        long nanos;
        if (callerDeadlineNanos != Long.MAX_VALUE) {
            nanos = callerDeadlineNanos - now;
        } else {
            nanos = Math.max(deadlineNanos - now, Math.max(2 * firstLoginNanos,
                    TimeUnit.MILLISECONDS.toNanos(MIN_RETRY_LOGIN_MILLIS)));
        }
        return Math.max(0.001, nanos / 1e9);
    }

    /** The caller's properties with the retry's login timeout; the caller's own object is never changed. */
    public Properties retryInfo(Properties info) {
        Properties copy = new Properties();
        if (info != null) {
            for (String name : info.stringPropertyNames()) {
                copy.setProperty(name, info.getProperty(name));
            }
        }
        copy.setProperty("loginTimeout", formatSeconds(retryLoginTimeoutSeconds()));
        return copy;
    }

    /**
     * The URL of the retry: unchanged, unless it carries its own {@code loginTimeout} (URL parameters win over
     * properties in pgjdbc), which then gets the retry's value; null when unchanged.
     */
    public String retryUrl(String url) {
        int query = url == null ? -1 : url.indexOf('?');
        if (query < 0) {
            return null;
        }
        StringBuilder rewritten = new StringBuilder(url.length() + 8).append(url, 0, query + 1);
        boolean changed = false;
        String[] pairs = url.substring(query + 1).split("&", -1);
        for (int i = 0; i < pairs.length; i++) {
            String pair = pairs[i];
            if (i > 0) {
                rewritten.append('&');
            }
            if (pair.startsWith("loginTimeout=")) {
                rewritten.append("loginTimeout=").append(formatSeconds(retryLoginTimeoutSeconds()));
                changed = true;
            } else {
                rewritten.append(pair);
            }
        }
        return changed ? rewritten.toString() : null;
    }

    private static String formatSeconds(double seconds) {
        return String.format(Locale.ROOT, "%.3f", seconds);
    }
}
