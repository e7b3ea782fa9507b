package dev.pgreclaim.metrics;

import dev.pgreclaim.log.ReclaimLog;
import java.lang.management.ManagementFactory;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import javax.management.MBeanServer;
import javax.management.ObjectName;

/**
 * The MBean implementation over {@link ReclaimMetrics}: {@value #OBJECT_NAME} for the agent,
 * {@value #JDBC_OBJECT_NAME} for the JDBC wrapper (both can live in one JVM, each with its own counters).
 */
public final class ReclaimStats implements ReclaimStatsMXBean {
    public static final String OBJECT_NAME = "dev.pgreclaim:type=Agent";
    public static final String JDBC_OBJECT_NAME = "dev.pgreclaim:type=Jdbc";

    private final ReclaimMetrics metrics;
    /** The effective-policy line; an attach that replaces the policy replaces it here too. */
    private final AtomicReference<String> policy;

    public ReclaimStats(ReclaimMetrics metrics, String policy) {
        this(metrics, new AtomicReference<String>(policy));
    }

    public ReclaimStats(ReclaimMetrics metrics, AtomicReference<String> policy) {
        this.metrics = metrics;
        this.policy = policy;
    }

    /** Registers the MBean on the platform server; a failure is logged, never thrown. */
    public static void register(ReclaimMetrics metrics, String policy) {
        register(metrics, new AtomicReference<String>(policy));
    }

    /** As {@link #register(ReclaimMetrics, String)}, showing whatever line {@code policy} holds when read. */
    public static void register(ReclaimMetrics metrics, AtomicReference<String> policy) {
        register(OBJECT_NAME, metrics, policy);
    }

    /** As {@link #register(ReclaimMetrics, AtomicReference)}, under {@code objectName}. */
    public static void register(String objectName, ReclaimMetrics metrics, AtomicReference<String> policy) {
        try {
            MBeanServer server = ManagementFactory.getPlatformMBeanServer();
            ObjectName name = new ObjectName(objectName);
            if (!server.isRegistered(name)) {
                server.registerMBean(new ReclaimStats(metrics, policy), name);
            }
        } catch (Throwable registrationFailure) {
            ReclaimLog.warn("pg-reclaim: MBean {} not registered: {}", objectName, registrationFailure.toString());
        }
    }

    /** Removes the MBean (an attach turned {@code pgreclaim.jmx} off); a failure is logged, never thrown. */
    public static void unregister() {
        unregister(OBJECT_NAME);
    }

    /** Removes the MBean {@code objectName}; a failure is logged, never thrown. */
    public static void unregister(String objectName) {
        try {
            MBeanServer server = ManagementFactory.getPlatformMBeanServer();
            ObjectName name = new ObjectName(objectName);
            if (server.isRegistered(name)) {
                server.unregisterMBean(name);
            }
        } catch (Throwable unregistrationFailure) {
            ReclaimLog.warn("pg-reclaim: MBean {} not unregistered: {}", objectName, unregistrationFailure.toString());
        }
    }

    @Override
    public Map<String, Long> getRefusalsByKind() {
        return metrics.refusalsByKind();
    }

    @Override
    public long getRefusals() {
        return metrics.refusalsTotal();
    }

    @Override
    public long getReclaimsAttempted() {
        return metrics.reclaimsAttempted();
    }

    @Override
    public long getTerminations() {
        return metrics.terminations();
    }

    @Override
    public long getRecoveries() {
        return metrics.recoveries();
    }

    @Override
    public long getObservations() {
        return metrics.observations();
    }

    @Override
    public Map<String, Long> getFailuresByCause() {
        return metrics.failuresByCause();
    }

    @Override
    public String getLastTermination() {
        return metrics.lastTermination();
    }

    @Override
    public String getEffectivePolicy() {
        return policy.get();
    }
}
