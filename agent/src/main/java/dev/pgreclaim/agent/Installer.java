package dev.pgreclaim.agent;

import dev.pgreclaim.policy.InvalidPolicyException;
import dev.pgreclaim.policy.Mode;
import dev.pgreclaim.policy.Policy;
import dev.pgreclaim.policy.PolicyParser;
import java.lang.instrument.Instrumentation;
import java.util.concurrent.atomic.AtomicBoolean;

/** Installs the agent once: validates the policy, registers the lazy transformer, retransforms a loaded driver. */
final class Installer {
    private static final AtomicBoolean INSTALLED = new AtomicBoolean();

    private Installer() {
    }

    static void install(String agentArgs, Instrumentation instrumentation, boolean attached) {
        try {
            if (!INSTALLED.compareAndSet(false, true)) {
                System.err.println("[pg-reclaim] WARN agent already installed in this JVM; ignoring the second load");
                return;
            }
            Policy policy;
            try {
                policy = PolicyParser.fromEnvironment(agentArgs);
            } catch (InvalidPolicyException invalid) {
                System.err.println("[pg-reclaim] ERROR invalid configuration, agent inactive (the application runs"
                        + " as without it): " + invalid.getMessage());
                return;
            }
            if (policy.mode() == Mode.OFF) {
                System.err.println("[pg-reclaim] INFO pgreclaim.mode=off: agent inactive");
                return;
            }
            Activation.prepare(policy, instrumentation);
            // Retransformation is needed only to weave a driver loaded before an attach. Under -javaagent a
            // plain transformer is enough (and cheaper at start-up); its output survives a later retransformation
            // by another agent, since the JVM keeps what retransformation-incapable transformers produced.
            instrumentation.addTransformer(new DriverTransformer(), attached);
            if (attached) {
                Activation.retransformLoadedDrivers(instrumentation);
            }
        } catch (Throwable installFailure) {
            System.err.println("[pg-reclaim] ERROR agent not installed, the application runs as without it: "
                    + installFailure);
        }
    }
}
