package dev.pgreclaim.reclaim;

import dev.pgreclaim.log.ReclaimLog;
import dev.pgreclaim.metrics.FailureCause;
import dev.pgreclaim.metrics.ReclaimMetrics;
import dev.pgreclaim.policy.LimitKind;
import dev.pgreclaim.policy.Mode;
import dev.pgreclaim.policy.Policy;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Decides what to do with a refused open and runs it: observe (log the refusal and the would-be victim) or start an
 * {@link OpenAttempt} that terminates and retries. Usable without an agent: tests drive it with a real driver and a
 * real server.
 */
public final class Reclaimer {
    /**
     * The database every derived admin session logs in to. pg_stat_activity and pg_terminate_backend are
     * cluster-wide, so any database serves; one fixed database means every JVM's and the CLI's advisory lock (which
     * PostgreSQL scopes to a database) is the same lock whatever database the refused opens named, and the
     * privileged session never runs inside a database the application role owns.
     */
    public static final String ADMIN_DATABASE = "postgres";
    /** The admin database when a database limit refused an open to {@link #ADMIN_DATABASE} itself. */
    static final String ADMIN_DATABASE_FALLBACK = "template1";
    /** Reclaim sites kept (one per admin server and role); the least recently used beyond this is closed. */
    static final int MAX_SITES = 256;

    private final Policy policy;
    private final ReclaimMetrics metrics;
    private final TerminationBudget budget;
    private final OwnSessions ownSessions = new OwnSessions();
    private final AtomicBoolean rehearsalOffered = new AtomicBoolean();
    private final LinkedHashMap<String, ReclaimSite> sites = new LinkedHashMap<String, ReclaimSite>(16, 0.75f, true);

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

    OwnSessions ownSessions() {
        return ownSessions;
    }

    /**
     * An open that succeeded: remembers the session's backend pid for the (server, role) it belongs to, so a later
     * refusal can tell whether the application already holds an idle session there. Never throws.
     */
    public void opened(Object driver, String url, Properties info, Object connection) {
        metrics.opened();
        try {
            ownSessions.opened(driver, url, info, connection);
        } catch (RuntimeException unexpected) {
            ReclaimLog.warnOnce("own-sessions", "pg-reclaim: could not record a session the application opened: {}",
                    unexpected.toString());
        }
        if (!rehearsalOffered.get() && policy.rehearse() && policy.mode() == Mode.TERMINATE
                && rehearsalOffered.compareAndSet(false, true)) {
            Rehearsal.offer(this, driver, url, info);
        }
    }

    /**
     * Rehearses the reclaim path once for the server and role of an open that succeeded (see
     * {@link ReclaimSite#rehearse}), on an admin session of its own, and logs what it did. Called off the
     * application's threads ({@link Rehearsal}). Never throws.
     */
    void rehearse(Object driver, String url, Properties info) {
        try {
            long start = System.nanoTime();
            ConnectTarget target = ConnectTarget.parse(url, info, driver);
            if (target == null || target.user() == null || (target.isMultiHost() && policy.adminUrl() == null)
                    || policy.victimRules().protectsUser(target.user())) {
                return; // a refusal of this open would not be reclaimed either
            }
            String role = target.user();
            AdminSession session = new AdminSession(adminUrlFor(target, LimitKind.ROLE), target.adminBaseProperties(),
                    policy.adminUser(), policy.adminPassword(), policy.adminKeepAliveMillis());
            String outcome = ReclaimSite.rehearse(session, driver, scopeFor(LimitKind.ROLE, role, target),
                    policy.victimRules(), KillGuards.of(new int[0], ownSessions.livePids(OwnSessions.key(target)),
                            target.database(), true),
                    start + TimeUnit.MILLISECONDS.toNanos(policy.deadlineMillis()));
            long millis = (System.nanoTime() - start) / 1_000_000L;
            String line = "pg-reclaim: rehearsal of the reclaim path for role {} at {}: {} ({} ms, one admin login"
                    + " closed at once, nothing terminated; pgreclaim.rehearse=false turns it off)";
            if (outcome.startsWith("failed")) {
                ReclaimLog.warn(line, role, target.describe(), outcome, millis);
            } else {
                ReclaimLog.info(line, role, target.describe(), outcome, millis);
            }
        } catch (RuntimeException unexpected) {
            ReclaimLog.warnOnce("rehearsal", "pg-reclaim: the rehearsal of the reclaim path failed: {}",
                    unexpected.toString());
        }
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
        ConnectTarget target = ConnectTarget.parse(url, info, driver);
        if (target == null || target.user() == null) {
            if (policy.actsOn(kind)) {
                metrics.failure(FailureCause.UNSUPPORTED_TARGET);
            }
            ReclaimLog.warnOnce("target:" + kind, "pg-reclaim: {} refused an open whose login role the agent cannot"
                    + " tell from the URL or properties; nothing done", refusal.describe());
            return null;
        }
        String role = target.user();
        String refusalLine = refusal.describe() + " refused an open to " + target.describe() + " as role " + role;
        if (kind == LimitKind.UNKNOWN) {
            ReclaimLog.warnAtMostEvery("unknown:" + target.describe(), 1000, "pg-reclaim: {}; a 53300 from a routine"
                    + " this agent does not know: passed through", refusalLine);
            return null;
        }
        if (policy.victimRules().protectsUser(role)) {
            ReclaimLog.warnAtMostEvery("protected:" + role, 60_000, "pg-reclaim: {}; role {} matches"
                    + " pgreclaim.protect.users: nothing done", refusalLine, role);
            return null;
        }
        if (target.isMultiHost() && policy.adminUrl() == null) {
            if (policy.actsOn(kind)) {
                metrics.failure(FailureCause.UNSUPPORTED_TARGET);
            }
            ReclaimLog.warnOnce("multihost:" + target.describe(), "pg-reclaim: {}; a multi-host URL does not say which"
                    + " host refused: set pgreclaim.admin.url to reclaim there; nothing done", refusalLine);
            return null;
        }
        if (policy.adminUser() == null) {
            metrics.observed();
            ReclaimLog.warnAtMostEvery("refusal:" + target.describe() + ":" + role, 1000, "pg-reclaim: {} (mode={};"
                    + " no pgreclaim.admin.user, so no would-be victim is named)", refusalLine, policy.mode().token());
            return null;
        }
        long now = System.nanoTime();
        long callerDeadlineNanos = target.loginTimeoutSeconds() > 0
                ? openStartNanos + (long) (target.loginTimeoutSeconds() * 1e9) : Long.MAX_VALUE;
        long deadlineNanos = Math.min(now + TimeUnit.MILLISECONDS.toNanos(policy.deadlineMillis()),
                callerDeadlineNanos);
        ReclaimSite site = siteFor(target, role, kind);
        VictimScope scope = scopeFor(kind, role, target);
        if (!policy.actsOn(kind)) {
            metrics.observed();
            String line = refusalLine + (policy.mode() == Mode.TERMINATE ? " (kind " + kind.token()
                    + " not in pgreclaim.act-on)" : "");
            site.observe(driver, scope, policy.victimRules(), deadlineNanos, line,
                    KillGuards.of(new int[0], ownSessions.livePids(OwnSessions.key(target)), target.database(),
                            kind == LimitKind.ROLE || kind == LimitKind.DATABASE));
            return null;
        }
        return new OpenAttempt(this, site, driver, scope, refusal, thrown, target, openStartNanos, now,
                deadlineNanos, callerDeadlineNanos);
    }

    /** Victims come from the refused role's sessions; a database limit narrows them to that database. */
    static VictimScope scopeFor(LimitKind kind, String role, ConnectTarget target) {
        return kind == LimitKind.DATABASE ? VictimScope.roleInDatabase(role, target.database())
                : VictimScope.role(role);
    }

    /** The configured admin URL, or the one derived from the refused open's server. */
    private String adminUrlFor(ConnectTarget target, LimitKind kind) {
        String adminUrl = policy.adminUrl();
        if (adminUrl == null) {
            // A database at its CONNECT LIMIT refuses the admin login as well (unless it is a superuser): when that
            // database is the admin database itself, the admin goes to the fallback.
            adminUrl = target.derivedAdminUrl(kind == LimitKind.DATABASE && ADMIN_DATABASE.equals(target.database())
                    ? ADMIN_DATABASE_FALLBACK : ADMIN_DATABASE);
        }
        return adminUrl;
    }

    ReclaimSite siteFor(ConnectTarget target, String role, LimitKind kind) {
        String adminUrl = adminUrlFor(target, kind);
        String key = adminUrl + "\u0000" + role;
        List<ReclaimSite> evicted = null;
        ReclaimSite site;
        synchronized (sites) {
            site = sites.get(key);
            if (site == null) {
                site = new ReclaimSite(role, new AdminSession(adminUrl, target.adminBaseProperties(),
                        policy.adminUser(), policy.adminPassword(), policy.adminKeepAliveMillis()));
                sites.put(key, site);
                // An application that opens as thousands of roles (one per tenant) keeps a bounded number of sites;
                // an evicted site's admin session is closed, and a later refusal for it starts a fresh one.
                for (Iterator<Map.Entry<String, ReclaimSite>> it = sites.entrySet().iterator();
                        sites.size() > MAX_SITES && it.hasNext();) {
                    ReclaimSite eldest = it.next().getValue();
                    it.remove();
                    if (evicted == null) {
                        evicted = new ArrayList<ReclaimSite>();
                    }
                    evicted.add(eldest);
                }
            }
        }
        if (evicted != null) {
            for (ReclaimSite old : evicted) {
                old.close();
            }
        }
        return site;
    }

    /** Whether this reclaimer has offered its rehearsal (tests). */
    boolean rehearsalOffered() {
        return rehearsalOffered.get();
    }

    /** How many reclaim sites are kept (tests). */
    int siteCount() {
        synchronized (sites) {
            return sites.size();
        }
    }

    /** Closes every admin session (JVM shutdown, tests). */
    public void close() {
        List<ReclaimSite> all;
        synchronized (sites) {
            all = new ArrayList<ReclaimSite>(sites.values());
            sites.clear();
        }
        for (ReclaimSite site : all) {
            site.close();
        }
    }

    /**
     * Creates what the first reclaim would otherwise create on the refused caller's thread (the admin session's
     * keep-alive scheduler and the classes behind it). Starts no thread and opens no connection.
     */
    public static void prewarm() {
        AdminSession.prewarm();
    }
}
