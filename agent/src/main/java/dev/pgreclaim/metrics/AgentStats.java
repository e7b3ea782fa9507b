package dev.pgreclaim.metrics;

import dev.pgreclaim.log.AgentLog;
import java.lang.management.ManagementFactory;
import java.util.Map;
import javax.management.MBeanServer;
import javax.management.ObjectName;

/** The MBean implementation over {@link ReclaimMetrics}. */
public final class AgentStats implements AgentStatsMXBean {
    public static final String OBJECT_NAME = "dev.pgreclaim:type=Agent";

    private final ReclaimMetrics metrics;
    private final String policy;

    public AgentStats(ReclaimMetrics metrics, String policy) {
        this.metrics = metrics;
        this.policy = policy;
    }

    /** Registers the MBean on the platform server; a failure is logged, never thrown. */
    public static void register(ReclaimMetrics metrics, String policy) {
        try {
            MBeanServer server = ManagementFactory.getPlatformMBeanServer();
            ObjectName name = new ObjectName(OBJECT_NAME);
            if (!server.isRegistered(name)) {
                server.registerMBean(new AgentStats(metrics, policy), name);
            }
        } catch (Throwable registrationFailure) {
            AgentLog.warn("pg-reclaim: MBean {} not registered: {}", OBJECT_NAME, registrationFailure.toString());
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
        return policy;
    }
}
