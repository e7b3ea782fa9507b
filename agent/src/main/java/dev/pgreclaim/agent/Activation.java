package dev.pgreclaim.agent;

import dev.pgreclaim.agent.bridge.ConnectBridge;
import dev.pgreclaim.log.AgentLog;
import dev.pgreclaim.metrics.AgentStats;
import dev.pgreclaim.metrics.ReclaimMetrics;
import dev.pgreclaim.policy.InvalidPolicyException;
import dev.pgreclaim.policy.Mode;
import dev.pgreclaim.policy.Policy;
import dev.pgreclaim.policy.PolicyParser;
import dev.pgreclaim.reclaim.Reclaimer;
import java.lang.instrument.Instrumentation;

/**
 * What happens when {@code org.postgresql.Driver} appears: the policy is read and validated once, the reclaim
 * machinery is built once and the class is woven, with the advice that can reach the bridge from the driver's class
 * loader. Kept apart from {@link DriverTransformer} so that none of this is loaded in a JVM that never loads the
 * driver.
 */
final class Activation {
    /** How long after the driver loads the reclaim path is prewarmed and the MBean registered. */
    static final long BACKGROUND_DELAY_MILLIS = 2000;

    private static boolean policyRead;
    private static Policy policy;
    private static ConnectInterceptor interceptor;
    private static boolean isolatedLoaderNoted;

    private Activation() {
    }

    /** Weaves one driver class file; on any failure the driver loads unchanged and the reason is logged once. */
    static byte[] weave(String agentArgs, ClassLoader loader, byte[] classfile) {
        try {
            AgentLog.useApplicationLoader(loader);
            Policy active = policy(agentArgs);
            if (active == null) {
                return null;
            }
            activate(active, loader);
            boolean agentVisible = seesAgentClasses(loader);
            if (!agentVisible) {
                noteIsolatedLoader(loader);
            }
            return DriverWeaver.weave(loader, classfile, agentVisible);
        } catch (Throwable weaveFailure) {
            AgentLog.warnOnce("weave", "pg-reclaim: could not weave org.postgresql.Driver in {}; the driver runs"
                    + " unchanged: {}", describe(loader), weaveFailure.toString());
            return null;
        }
    }

    /**
     * The policy of this JVM, read from agent arguments, system properties and environment the first time it is
     * needed and kept; null when the agent stays inert (mode {@code off}, or an invalid configuration, which is
     * reported here once with every problem it has).
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
            AgentLog.error("pg-reclaim: invalid configuration, agent inactive (the application runs as without"
                    + " it): {}", invalid.getMessage());
            return null;
        }
        if (parsed.mode() == Mode.OFF) {
            AgentLog.info("pg-reclaim: pgreclaim.mode=off: agent inactive");
            return null;
        }
        return parsed;
    }

    private static synchronized void activate(final Policy active, final ClassLoader loader) {
        if (interceptor != null) {
            return;
        }
        final ReclaimMetrics metrics = new ReclaimMetrics();
        Reclaimer reclaimer = new Reclaimer(active, metrics);
        interceptor = new ConnectInterceptor(reclaimer, metrics);
        ConnectBridge.install(interceptor);
        AgentLog.info("pg-reclaim: active on org.postgresql.Driver ({}); policy: {}", describe(loader), active);
        for (String warning : active.warnings()) {
            AgentLog.warn("pg-reclaim: {}", warning);
        }
        // Off the application's thread, and a little later: creating the platform MBean server loads ~400 classes
        // (management, JMX, JFR beans), and loading the reclaim path ahead of need ~80 more; both would compete with
        // the application's own start-up for the CPU while the driver is being loaded. The counters are kept from
        // the start either way, and a reclaim before then loads what it needs itself.
        Thread init = new Thread(new Runnable() {
            @Override
            public void run() {
                if (active.selfCheck()) {
                    SelfCheck.run(active, loader);
                }
                try {
                    Thread.sleep(BACKGROUND_DELAY_MILLIS);
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    return;
                }
                int prewarmed = Prewarm.run();
                AgentLog.debug("pg-reclaim: {} classes of the reclaim path loaded ahead of need", prewarmed);
                if (active.jmx()) {
                    AgentStats.register(metrics, active.toString());
                }
            }
        }, "pg-reclaim-init");
        init.setDaemon(true);
        init.start();
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
        AgentLog.info("pg-reclaim: the class loader of org.postgresql.Driver ({}) cannot see the agent jar; the"
                + " woven driver reaches the agent through the system class loader", describe(loader));
    }

    /** Attach: weave drivers loaded before the agent arrived. */
    static void retransformLoadedDrivers(Instrumentation inst) {
        for (Class<?> loaded : inst.getAllLoadedClasses()) {
            if (DriverWeaver.DRIVER_NAME.equals(loaded.getName())) {
                try {
                    inst.retransformClasses(loaded);
                } catch (Throwable retransformFailure) {
                    AgentLog.warn("pg-reclaim: could not retransform org.postgresql.Driver in {}: {}",
                            describe(loaded.getClassLoader()), retransformFailure.toString());
                }
            }
        }
    }

    private static String describe(ClassLoader loader) {
        return loader == null ? "bootstrap loader" : loader.getClass().getName();
    }
}
