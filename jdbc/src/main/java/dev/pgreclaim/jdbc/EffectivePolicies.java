package dev.pgreclaim.jdbc;

import dev.pgreclaim.log.ReclaimLog;
import dev.pgreclaim.metrics.LazyMBean;
import dev.pgreclaim.metrics.ReclaimMetrics;
import dev.pgreclaim.metrics.ReclaimStats;
import dev.pgreclaim.policy.InvalidPolicyException;
import dev.pgreclaim.policy.Mode;
import dev.pgreclaim.policy.Policy;
import dev.pgreclaim.policy.PolicyParser;
import dev.pgreclaim.policy.Setting;
import dev.pgreclaim.reclaim.OpenHandler;
import dev.pgreclaim.reclaim.Background;
import dev.pgreclaim.reclaim.Reclaimer;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Which {@link OpenHandler} an open of the wrapper gets: one per distinct effective policy, so that a pool's many opens
 * share one {@link Reclaimer} (single-flight per role, the termination budget, the record of the application's own
 * sessions, the kept admin session). The policy of an open is read from, lowest to highest precedence: the
 * environment ({@code PGRECLAIM_*}), system properties ({@code pgreclaim.*}), the connection properties, the URL
 * parameters. An invalid policy, or {@code pgreclaim.mode=off}, gives no handler: the open runs as plain pgjdbc, and
 * the reason is logged once.
 */
final class EffectivePolicies {
    /** Policies kept; the least recently used beyond this is closed (its admin session too). */
    static final int MAX_POLICIES = 16;
    private static final int MAX_REPORTED = 256;

    /** The wrapper's counters, JVM-wide, behind {@code dev.pgreclaim:type=Jdbc}: every policy's opens add to them. */
    static final ReclaimMetrics METRICS = new ReclaimMetrics();
    /** The effective-policy line the MBean shows: the active policies, most recent last. */
    static final AtomicReference<String> POLICY_LINE = new AtomicReference<String>("");

    private static final LinkedHashMap<String, Entry> ENTRIES = new LinkedHashMap<String, Entry>(16, 0.75f, true);
    private static final Set<String> REPORTED = new LinkedHashSet<String>();
    private static boolean backgroundStarted;
    private static volatile boolean backgroundDone;

    private EffectivePolicies() {
    }

    /** One effective policy: its handler, null when the wrapper stays plain pgjdbc for it. */
    static final class Entry {
        final Policy policy;
        final Reclaimer reclaimer;
        final OpenHandler handler;

        Entry(Policy policy, Reclaimer reclaimer, OpenHandler handler) {
            this.policy = policy;
            this.reclaimer = reclaimer;
            this.handler = handler;
        }
    }

    /**
     * The handler for an open, or null to open as plain pgjdbc.
     *
     * @param urlSettings the {@code pgreclaim.*} URL parameters (highest precedence)
     * @param urlProblems what is wrong with them (then the open is plain)
     * @param info the caller's connection properties (their {@code pgreclaim.*} entries count)
     * @param driverLoader the loader of the application's pgjdbc (for the self-check)
     */
    static OpenHandler handlerFor(Map<String, String> urlSettings, List<String> urlProblems, Properties info,
            ClassLoader driverLoader) {
        return entryFor(urlSettings, urlProblems, info, driverLoader).handler;
    }

    /** As {@link #handlerFor}, with the effective policy (null when invalid). */
    static Entry entryFor(Map<String, String> urlSettings, List<String> urlProblems, Properties info,
            ClassLoader driverLoader) {
        List<String> problems = new ArrayList<String>(urlProblems);
        TreeMap<String, String> merged = new TreeMap<String, String>();
        Properties system = System.getProperties();
        for (String name : system.stringPropertyNames()) {
            if (WrapperUrl.isPgreclaimKey(name)) {
                merged.put(name, system.getProperty(name));
            }
        }
        if (info != null) {
            for (String name : info.stringPropertyNames()) {
                if (!WrapperUrl.isPgreclaimKey(name)) {
                    continue;
                }
                Setting setting = Setting.byKey(name);
                if (setting == null) {
                    // typed for this open: a typo must not quietly leave a default in place
                    problems.add("connection property " + WrapperUrl.shownKey(name) + " is not a pg-reclaim property");
                } else {
                    merged.put(setting.key(), info.getProperty(name));
                }
            }
        }
        merged.putAll(urlSettings);
        // The key holds secrets (an admin password given as a connection property): kept in memory, never shown.
        String key = problems.toString() + '\u0000' + merged.toString();
        Entry entry;
        synchronized (ENTRIES) {
            entry = ENTRIES.get(key);
        }
        if (entry == null) {
            entry = create(key, merged, problems, driverLoader);
        }
        return entry;
    }

    private static Entry create(String key, Map<String, String> merged, List<String> problems,
            ClassLoader driverLoader) {
        Entry created = build(merged, problems);
        List<Entry> evicted = new ArrayList<Entry>();
        synchronized (ENTRIES) {
            Entry raced = ENTRIES.get(key);
            if (raced != null) {
                return raced;
            }
            ENTRIES.put(key, created);
            for (Iterator<Entry> it = ENTRIES.values().iterator(); ENTRIES.size() > MAX_POLICIES && it.hasNext();) {
                evicted.add(it.next());
                it.remove();
            }
            updatePolicyLine();
        }
        for (Entry old : evicted) {
            if (old.reclaimer != null) {
                // an open still reclaiming under it finishes; the next one under this policy builds a new reclaimer
                old.reclaimer.close();
            }
        }
        if (created.handler != null) {
            ReclaimLog.info("pg-reclaim: JDBC wrapper active; policy: {}", created.policy);
            boolean passwordFromSystem = System.getProperty(Setting.ADMIN_PASSWORD.key()) != null;
            for (String warning : created.policy.warnings()) {
                if (!passwordFromSystem && warning.startsWith(Setting.ADMIN_PASSWORD.key() + " is visible")) {
                    // given as a connection property, not as -D: nothing for ps to show
                    continue;
                }
                ReclaimLog.warn("pg-reclaim: {}", warning);
            }
            startBackground();
            if (backgroundDone && created.policy.jmx()) {
                LazyMBean.arm(ReclaimStats.JDBC_OBJECT_NAME, METRICS, POLICY_LINE);
            }
            if (created.policy.selfCheck()) {
                selfCheckLater(created.policy, driverLoader);
            }
        }
        return created;
    }

    private static Entry build(Map<String, String> merged, List<String> problems) {
        if (!problems.isEmpty()) {
            report(join(problems));
            return new Entry(null, null, null);
        }
        Properties settings = new Properties();
        settings.putAll(merged);
        Policy policy;
        try {
            policy = PolicyParser.parse(null, settings, System.getenv());
        } catch (InvalidPolicyException invalid) {
            report(invalid.getMessage());
            return new Entry(null, null, null);
        }
        if (policy.mode() == Mode.OFF) {
            // once per configuration that says so (not once per JVM: another pool may be configured differently)
            reportOnce("off:" + policy, "pg-reclaim: pgreclaim.mode=off: the JDBC wrapper opens as plain pgjdbc");
            return new Entry(policy, null, null);
        }
        Reclaimer reclaimer = new Reclaimer(policy, METRICS);
        return new Entry(policy, reclaimer, new OpenHandler(reclaimer, METRICS));
    }

    private static void report(String problems) {
        reportOnce(problems, null);
    }

    /** Says each distinct problem once (the set is bounded: at worst a line is said again). */
    private static void reportOnce(String problem, String infoLine) {
        synchronized (REPORTED) {
            if (REPORTED.size() >= MAX_REPORTED) {
                REPORTED.clear();
            }
            if (!REPORTED.add(problem)) {
                return;
            }
        }
        if (infoLine != null) {
            ReclaimLog.info(infoLine);
        } else {
            ReclaimLog.error("pg-reclaim: invalid configuration, the JDBC wrapper opens as plain pgjdbc and reclaims"
                    + " nothing: {}", problem);
        }
    }

    private static String join(List<String> problems) {
        StringBuilder joined = new StringBuilder();
        for (String problem : problems) {
            if (joined.length() > 0) {
                joined.append("; ");
            }
            joined.append(problem);
        }
        return joined.toString();
    }

    private static void updatePolicyLine() {
        StringBuilder line = new StringBuilder();
        for (Entry entry : ENTRIES.values()) {
            if (entry.handler != null) {
                if (line.length() > 0) {
                    line.append(" | ");
                }
                line.append(entry.policy);
            }
        }
        POLICY_LINE.set(line.toString());
    }

    private static boolean anyJmx() {
        synchronized (ENTRIES) {
            for (Entry entry : ENTRIES.values()) {
                if (entry.handler != null && entry.policy.jmx()) {
                    return true;
                }
            }
        }
        return false;
    }

    /** What the agent's activation starts, once per JVM: prewarm, then the MBean. */
    private static void startBackground() {
        synchronized (EffectivePolicies.class) {
            if (backgroundStarted) {
                return;
            }
            backgroundStarted = true;
        }
        // Off the application's thread, and later (see Background.DELAY_MILLIS).
        Background.startInit(new Runnable() {
            @Override
            public void run() {
                backgroundDone = true;
                if (anyJmx()) {
                    LazyMBean.start(ReclaimStats.JDBC_OBJECT_NAME, METRICS, POLICY_LINE);
                }
            }
        });
    }

    private static void selfCheckLater(Policy checked, ClassLoader driverLoader) {
        Background.selfCheck(checked, driverLoader);
    }

    /** How many policies are kept (tests). */
    static int size() {
        synchronized (ENTRIES) {
            return ENTRIES.size();
        }
    }
}
