package dev.pgreclaim.metrics;

import java.util.Map;

/**
 * The MBean of pg-reclaim: {@code dev.pgreclaim:type=Agent} (the agent), {@code dev.pgreclaim:type=Jdbc} (the JDBC
 * wrapper). Never exposes the admin password.
 */
public interface ReclaimStatsMXBean {
    /** 53300 refusals seen, by limit kind (role, database, reserved, server, unknown). */
    Map<String, Long> getRefusalsByKind();

    long getRefusals();

    /** Reclaim rounds started (each may or may not terminate a session). */
    long getReclaimsAttempted();

    long getTerminations();

    /** Refused opens that returned a connection after a reclaim. */
    long getRecoveries();

    /** Refusals logged in observe mode (or for kinds not acted on). */
    long getObservations();

    /** Refused opens handed back with their original exception, by cause. */
    Map<String, Long> getFailuresByCause();

    /** The audit summary of the last termination, empty if none. */
    String getLastTermination();

    /** The effective policy, secrets masked. */
    String getEffectivePolicy();
}
