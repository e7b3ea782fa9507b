package dev.pgreclaim.agent;

import dev.pgreclaim.policy.InvalidPolicyException;
import dev.pgreclaim.policy.Mode;
import dev.pgreclaim.policy.Policy;
import dev.pgreclaim.policy.PolicyParser;
import java.lang.instrument.Instrumentation;

/** Installs the agent once: validates the policy, registers the lazy transformer, retransforms a loaded driver. */
final class Installer {
    private static boolean installed;

    private Installer() {
    }

    static void install(String agentArgs, Instrumentation instrumentation, boolean attached) {
        try {
            synchronized (Installer.class) {
                if (installed) {
                    System.err.println("[pg-reclaim] WARN agent already installed in this JVM; ignoring the second"
                            + " load");
                    return;
                }
                installed = true;
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
            // Retransformation is needed only to weave a driver loaded before an attach. Under -javaagent a
            // plain transformer is enough (and cheaper at start-up); its output survives a later retransformation
            // by another agent, since the JVM keeps what retransformation-incapable transformers produced.
            instrumentation.addTransformer(new DriverTransformer(policy), attached);
            if (attached) {
                Activation.retransformLoadedDrivers(instrumentation);
            }
        } catch (Throwable installFailure) {
            System.err.println("[pg-reclaim] ERROR agent not installed, the application runs as without it: "
                    + installFailure);
        }
    }
}
