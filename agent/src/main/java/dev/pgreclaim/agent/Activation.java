package dev.pgreclaim.agent;

import dev.pgreclaim.agent.bridge.ConnectBridge;
import dev.pgreclaim.log.ReclaimLog;
import dev.pgreclaim.metrics.LazyMBean;
import dev.pgreclaim.metrics.ReclaimStats;
import dev.pgreclaim.metrics.ReclaimMetrics;
import dev.pgreclaim.policy.InvalidPolicyException;
import dev.pgreclaim.policy.Mode;
import dev.pgreclaim.policy.Policy;
import dev.pgreclaim.policy.PolicyParser;
import dev.pgreclaim.reclaim.Background;
import dev.pgreclaim.reclaim.Reclaimer;
import java.lang.instrument.Instrumentation;
import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.atomic.AtomicReference;

/**
 * What happens when {@code org.postgresql.Driver} appears: the policy is read and validated once, the reclaim
 * machinery is built once and the class is woven, with the advice that can reach the bridge from the driver's class
 * loader. Kept apart from {@link DriverTransformer} so that none of this is loaded in a JVM that never loads the
 * driver.
 */
final class Activation {

    /** The woven class file names the bridge (or, for an isolated loader, its binary name as a string). */
    private static final byte[] WOVEN_MARKER = "dev/pgreclaim/agent/bridge/ConnectBridge"
            .getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    private static final byte[] WOVEN_MARKER_REFLECTIVE = "dev.pgreclaim.agent.bridge.ConnectBridge"
            .getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    private static boolean policyRead;
    /** The policy the agent acts on; null while inert (mode off, invalid configuration, not read yet). */
    private static Policy policy;
    /** The last policy that was valid, off included: what the agent "runs", as reported to attach. */
    private static Policy latest;
    private static ReclaimMetrics metrics;
    private static Reclaimer reclaimer;
    private static boolean backgroundStarted;
    private static boolean retransformingTransformerAdded;
    private static boolean isolatedLoaderNoted;
    /** Loaders whose org.postgresql.Driver has been woven (weakly held: a webapp's loader may go away). */
    private static final Map<ClassLoader, Boolean> WOVEN_LOADERS = new WeakHashMap<ClassLoader, Boolean>();
    private static boolean bootstrapDriverWoven;
    private static WeakReference<ClassLoader> lastDriverLoader;
    /** The effective-policy line the MBean shows; replaced with the policy. */
    static final AtomicReference<String> POLICY_LINE = new AtomicReference<String>("");

    private Activation() {
    }

    /** Weaves one driver class file; on any failure the driver loads unchanged and the reason is logged once. */
    static byte[] weave(String agentArgs, ClassLoader loader, byte[] classfile) {
        try {
            ReclaimLog.useApplicationLoader(loader);
            Policy active = policy(agentArgs);
            if (active == null) {
                return null;
            }
            activate(active, loader);
            if (contains(classfile, WOVEN_MARKER) || contains(classfile, WOVEN_MARKER_REFLECTIVE)) {
                // Woven already by the -javaagent transformer, whose output the JVM keeps on retransformation.
                return null;
            }
            boolean agentVisible = seesAgentClasses(loader);
            if (!agentVisible) {
                noteIsolatedLoader(loader);
            }
            byte[] woven = DriverWeaver.weave(loader, classfile, agentVisible);
            markWoven(loader);
            return woven;
        } catch (Throwable weaveFailure) {
            ReclaimLog.warnOnce("weave", "pg-reclaim: could not weave org.postgresql.Driver in {}; the driver runs"
                    + " unchanged: {}", describe(loader), weaveFailure.toString());
            return null;
        }
    }

    /**
     * The policy of this JVM, read from agent arguments, system properties and environment the first time it is
     * needed and kept (until an attach replaces it); null when the agent stays inert (mode {@code off}, or an
     * invalid configuration, which is reported here once with every problem it has).
     */
    static synchronized Policy policy(String agentArgs) {
        if (!policyRead) {
            policyRead = true;
            policy = readPolicy(agentArgs);
        }
        return policy;
    }

    private static Policy readPolicy(String agentArgs) {
        Policy parsed;
        try {
            parsed = PolicyParser.fromEnvironment(agentArgs);
        } catch (InvalidPolicyException invalid) {
            ReclaimLog.error("pg-reclaim: invalid configuration, agent inactive (the application runs as without"
                    + " it): {}", invalid.getMessage());
            return null;
        }
        latest = parsed;
        POLICY_LINE.set(parsed.toString());
        if (parsed.mode() == Mode.OFF) {
            ReclaimLog.info("pg-reclaim: pgreclaim.mode=off: agent inactive");
            return null;
        }
        return parsed;
    }

    /** What an attach learns back: whether its policy was taken, and what the agent runs now. */
    static final class Outcome {
        static final String RUNNING = "running";
        static final String INACTIVE = "inactive";
        static final String INVALID = "invalid";

        final String status;
        final String detail;

        Outcome(String status, String detail) {
            this.status = status;
            this.detail = detail;
        }
    }

    /**
     * Attach, first or not: the policy of these agent arguments (over the target's {@code -D} properties and
     * environment) replaces the running one as a whole. {@code mode=off} uninstalls the handler at once, so nothing
     * is reclaimed from the next exit of {@code connect} on; an invalid policy changes nothing. The previous
     * reclaimer's admin sessions are closed. An open already being reclaimed when the policy changes finishes
     * under the policy it started with, unless the new one is {@code off}.
     */
    static Outcome attach(String agentArgs, Instrumentation instrumentation) {
        Policy parsed;
        try {
            parsed = PolicyParser.fromEnvironment(agentArgs);
        } catch (InvalidPolicyException invalid) {
            synchronized (Activation.class) {
                String running = runningLine();
                ReclaimLog.error("pg-reclaim: invalid configuration from attach, nothing changed (still running: {}):"
                        + " {}", running, invalid.getMessage());
                return new Outcome(Outcome.INVALID, invalid.getMessage() + "\n" + running);
            }
        }
        Reclaimer previous;
        boolean active;
        synchronized (Activation.class) {
            boolean replacing = policyRead;
            policyRead = true;
            latest = parsed;
            POLICY_LINE.set(parsed.toString());
            previous = reclaimer;
            reclaimer = null;
            if (parsed.mode() == Mode.OFF) {
                policy = null;
                ConnectBridge.install(null);
                ReclaimLog.info("pg-reclaim: pgreclaim.mode=off set by attach: agent inactive, nothing is reclaimed"
                        + " from now on");
            } else {
                policy = parsed;
                start(parsed);
                ReclaimLog.info("pg-reclaim: policy {} by attach: {}", replacing ? "replaced" : "set", parsed);
                for (String warning : parsed.warnings()) {
                    ReclaimLog.warn("pg-reclaim: {}", warning);
                }
            }
            active = policy != null;
        }
        if (previous != null) {
            previous.close();
        }
        if (active) {
            weaveLoadedDrivers(agentArgs, instrumentation);
            if (parsed.selfCheck()) {
                selfCheckLater(parsed);
            }
        }
        updateMBean(parsed);
        return new Outcome(active ? Outcome.RUNNING : Outcome.INACTIVE, parsed.toString());
    }

    private static String runningLine() {
        if (policy != null) {
            return policy.toString();
        }
        return latest == null ? "nothing (the agent is inactive)" : latest + " (agent inactive)";
    }

    /** The driver appeared under the current policy: build the machinery if it is not running yet. */
    private static synchronized void activate(Policy active, ClassLoader loader) {
        lastDriverLoader = new WeakReference<ClassLoader>(loader);
        if (reclaimer != null) {
            return;
        }
        start(active);
        ReclaimLog.info("pg-reclaim: active on org.postgresql.Driver ({}); policy: {}", describe(loader), active);
        for (String warning : active.warnings()) {
            ReclaimLog.warn("pg-reclaim: {}", warning);
        }
        if (active.selfCheck()) {
            selfCheckLater(active);
        }
    }

    /** A reclaimer for this policy, installed behind the bridge; the counters carry over from the previous one. */
    private static void start(final Policy active) {
        if (metrics == null) {
            metrics = new ReclaimMetrics();
        }
        reclaimer = new Reclaimer(active, metrics);
        ConnectBridge.install(new ConnectInterceptor(reclaimer, metrics));
        if (backgroundStarted) {
            return;
        }
        backgroundStarted = true;
        // Off the application's thread, and a little later (see Background.DELAY_MILLIS).
        final ReclaimMetrics counters = metrics;
        Background.startInit(new Runnable() {
            @Override
            public void run() {
                Policy current = currentValid();
                if (current != null && current.jmx()) {
                    LazyMBean.start(ReclaimStats.OBJECT_NAME, counters, POLICY_LINE);
                }
            }
        });
    }

    private static synchronized Policy currentValid() {
        return latest;
    }

    private static void selfCheckLater(Policy checked) {
        Background.selfCheck(checked, lastDriverLoader == null ? null : lastDriverLoader.get());
    }

    /** After an attach: the MBean follows the new policy's {@code jmx} once the background start has run. */
    private static synchronized void updateMBean(Policy parsed) {
        if (metrics == null) {
            return; // nothing activated yet: the background start registers it, following the latest policy
        }
        if (parsed.jmx()) {
            LazyMBean.registerNow(ReclaimStats.OBJECT_NAME, metrics, POLICY_LINE);
        } else {
            LazyMBean.disarm(metrics);
            ReclaimStats.unregister();
        }
    }

    /**
     * Weaves the drivers already loaded that are not woven yet: those loaded while the agent was inert (mode off, an
     * invalid policy, or a {@code -javaagent} start that was off), or all of them on a first attach. A transformer
     * that can retransform is added once; the {@code -javaagent} one cannot, and its weaving is kept by the JVM.
     */
    private static void weaveLoadedDrivers(String agentArgs, Instrumentation instrumentation) {
        List<Class<?>> unwoven = new ArrayList<Class<?>>();
        for (Class<?> loaded : instrumentation.getAllLoadedClasses()) {
            if (DriverWeaver.DRIVER_NAME.equals(loaded.getName()) && !isWoven(loaded.getClassLoader())) {
                unwoven.add(loaded);
            }
        }
        synchronized (Activation.class) {
            if (!retransformingTransformerAdded) {
                retransformingTransformerAdded = true;
                instrumentation.addTransformer(new DriverTransformer(agentArgs), true);
            }
        }
        for (Class<?> driver : unwoven) {
            try {
                instrumentation.retransformClasses(driver);
            } catch (Throwable retransformFailure) {
                ReclaimLog.warn("pg-reclaim: could not retransform org.postgresql.Driver in {}: {}",
                        describe(driver.getClassLoader()), retransformFailure.toString());
            }
        }
    }

    private static synchronized void markWoven(ClassLoader loader) {
        if (loader == null) {
            bootstrapDriverWoven = true;
        } else {
            WOVEN_LOADERS.put(loader, Boolean.TRUE);
        }
    }

    private static synchronized boolean isWoven(ClassLoader loader) {
        return loader == null ? bootstrapDriverWoven : WOVEN_LOADERS.containsKey(loader);
    }

    static boolean contains(byte[] data, byte[] marker) {
        outer:
        for (int i = 0; i <= data.length - marker.length; i++) {
            for (int k = 0; k < marker.length; k++) {
                if (data[i + k] != marker[k]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }

    /** True when the agent's classes are visible from the loader (its parent chain reaches the agent's loader). */
    static boolean seesAgentClasses(ClassLoader loader) {
        ClassLoader agentLoader = ConnectBridge.class.getClassLoader();
        for (ClassLoader current = loader; current != null; current = current.getParent()) {
            if (current == agentLoader) {
                return true;
            }
        }
        return false;
    }

    /** Said once: the driver's loader cannot see the agent jar, so the woven driver reaches it by reflection. */
    private static synchronized void noteIsolatedLoader(ClassLoader loader) {
        if (isolatedLoaderNoted) {
            return;
        }
        isolatedLoaderNoted = true;
        ReclaimLog.info("pg-reclaim: the class loader of org.postgresql.Driver ({}) cannot see the agent jar; the"
                + " woven driver reaches the agent through the system class loader", describe(loader));
    }

    private static String describe(ClassLoader loader) {
        return loader == null ? "bootstrap loader" : loader.getClass().getName();
    }
}
