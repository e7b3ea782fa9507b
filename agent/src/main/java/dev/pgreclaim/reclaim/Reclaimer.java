package dev.pgreclaim.reclaim;

import dev.pgreclaim.log.AgentLog;
import dev.pgreclaim.metrics.FailureCause;
import dev.pgreclaim.metrics.ReclaimMetrics;
import dev.pgreclaim.policy.LimitKind;
import dev.pgreclaim.policy.Mode;
import dev.pgreclaim.policy.Policy;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Decides what to do with a refused open and runs it: observe (log the refusal and the would-be victim) or start an
 * {@link OpenAttempt} that terminates and retries. Usable without an agent: tests drive it with a real driver and a
 * real server.
 */
public final class Reclaimer {
    private final Policy policy;
    private final ReclaimMetrics metrics;
    private final TerminationBudget budget;
    private final ConcurrentHashMap<String, ReclaimSite> sites = new ConcurrentHashMap<String, ReclaimSite>();

    public Reclaimer(Policy policy, ReclaimMetrics metrics) {
        this.policy = policy;
        this.metrics = metrics;
        this.budget = new TerminationBudget(policy.budgetTerminations(), policy.budgetWindowMillis());
    }

    Policy policy() {
        return policy;
    }

    ReclaimMetrics metrics() {
        return metrics;
    }

    TerminationBudget budget() {
        return budget;
    }

    /**
     * The first refusal of an open.
     *
     * @param driver the application's {@code java.sql.Driver} that refused (the admin session opens through it)
     * @param thrown what the driver threw; it stays the exception the caller gets if the agent gives up
     * @param openStartNanos when the caller's open began, for its loginTimeout
     * @return an attempt that will retry the open, or null to hand the outcome back unchanged
     */
    public OpenAttempt onRefusal(Object driver, String url, Properties info, Refusal refusal, Throwable thrown,
            long openStartNanos) {
        LimitKind kind = refusal.kind();
        metrics.refusal(kind);
        ConnectTarget target = ConnectTarget.parse(url, info);
        if (target == null || target.user() == null) {
            if (policy.actsOn(kind)) {
                metrics.failure(FailureCause.UNSUPPORTED_TARGET);
            }
            AgentLog.warnOnce("target:" + kind, "pg-reclaim: {} refused an open whose login role the agent cannot"
                    + " tell from the URL or properties; nothing done", refusal.describe());
            return null;
        }
        String role = target.user();
        String refusalLine = refusal.describe() + " refused an open to " + target.describe() + " as role " + role;
        if (kind == LimitKind.UNKNOWN) {
            AgentLog.warnAtMostEvery("unknown:" + target.describe(), 1000, "pg-reclaim: {}; a 53300 from a routine"
                    + " this agent does not know: passed through", refusalLine);
            return null;
        }
        if (policy.victimRules().protectsUser(role)) {
            AgentLog.warnAtMostEvery("protected:" + role, 60_000, "pg-reclaim: {}; role {} matches"
                    + " pgreclaim.protect.users: nothing done", refusalLine, role);
            return null;
        }
        if (target.isMultiHost() && policy.adminUrl() == null) {
            if (policy.actsOn(kind)) {
                metrics.failure(FailureCause.UNSUPPORTED_TARGET);
            }
            AgentLog.warnOnce("multihost:" + target.describe(), "pg-reclaim: {}; a multi-host URL does not say which"
                    + " host refused: set pgreclaim.admin.url to reclaim there; nothing done", refusalLine);
            return null;
        }
        if (policy.adminUser() == null) {
            metrics.observed();
            AgentLog.warnAtMostEvery("refusal:" + target.describe() + ":" + role, 1000, "pg-reclaim: {} (mode={};"
                    + " no pgreclaim.admin.user, so no would-be victim is named)", refusalLine, policy.mode().token());
            return null;
        }
        long now = System.nanoTime();
        long deadlineNanos = deadline(now, openStartNanos, target);
        ReclaimSite site = siteFor(target, role, kind);
        VictimScope scope = kind == LimitKind.DATABASE ? VictimScope.roleInDatabase(role, target.database())
                : VictimScope.role(role);
        if (!policy.actsOn(kind)) {
            metrics.observed();
            String line = refusalLine + (policy.mode() == Mode.TERMINATE ? " (kind " + kind.token()
                    + " not in pgreclaim.act-on)" : "");
            site.observe(driver, scope, policy.victimRules(), deadlineNanos, line);
            return null;
        }
        OpenAttempt attempt = new OpenAttempt(this, site, driver, scope, refusal, thrown, target, now, deadlineNanos);
        return attempt;
    }

    private long deadline(long now, long openStartNanos, ConnectTarget target) {
        long deadline = now + TimeUnit.MILLISECONDS.toNanos(policy.deadlineMillis());
        if (target.loginTimeoutSeconds() > 0) {
            long callerDeadline = openStartNanos + (long) (target.loginTimeoutSeconds() * 1e9);
            deadline = Math.min(deadline, callerDeadline);
        }
        return deadline;
    }

    private ReclaimSite siteFor(ConnectTarget target, String role, LimitKind kind) {
        String adminUrl = policy.adminUrl();
        if (adminUrl == null) {
            // A database at its CONNECTION LIMIT refuses the admin login as well (unless it is a superuser), and
            // pg_stat_activity is cluster-wide: the admin session then logs in to another database. All JVMs derive
            // the same one, so the advisory lock (per database) still coordinates them.
            adminUrl = kind == LimitKind.DATABASE
                    ? target.derivedAdminUrl("postgres".equals(target.database()) ? "template1" : "postgres")
                    : target.derivedAdminUrl();
        }
        String key = adminUrl + "\u0000" + role;
        ReclaimSite site = sites.get(key);
        if (site == null) {
            ReclaimSite created = new ReclaimSite(role, new AdminSession(adminUrl, target.adminBaseProperties(),
                    policy.adminUser(), policy.adminPassword(), policy.adminKeepAliveMillis()));
            site = sites.putIfAbsent(key, created);
            if (site == null) {
                site = created;
            }
        }
        return site;
    }

    /** Closes every admin session (JVM shutdown, tests). */
    public void close() {
        for (ReclaimSite site : sites.values()) {
            site.close();
        }
        sites.clear();
    }

    /**
     * Creates what the first reclaim would otherwise create on the refused caller's thread (the admin session's
     * keep-alive scheduler and the classes behind it). Starts no thread and opens no connection.
     */
    public static void prewarm() {
        AdminSession.prewarm();
    }
}
