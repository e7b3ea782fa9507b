package dev.pgreclaim.agent;

import java.lang.instrument.Instrumentation;

/**
 * Attach: the policy is read at once (the operator who attaches wants a configuration error now, and the driver is
 * usually loaded already), then the transformer is registered as retransformation-capable and drivers loaded
 * before the agent arrived are woven.
 */
final class Installer {
    private Installer() {
    }

    static void attach(String agentArgs, Instrumentation instrumentation) {
        if (Activation.policy(agentArgs) == null) {
            return;
        }
        instrumentation.addTransformer(new DriverTransformer(agentArgs), true);
        Activation.retransformLoadedDrivers(instrumentation);
    }
}
