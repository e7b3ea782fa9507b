package dev.pgreclaim.agent;

import java.lang.instrument.Instrumentation;

/**
 * Entry points: {@code -javaagent:pg-reclaim-agent.jar} ({@link #premain}) and attach ({@link #agentmain}). Neither
 * ever throws into the application: whatever goes wrong is reported once on stderr and the JVM runs as if no agent
 * were attached.
 */
public final class AgentMain {
    private AgentMain() {
    }

    public static void premain(String agentArgs, Instrumentation instrumentation) {
        Installer.install(agentArgs, instrumentation, false);
    }

    public static void agentmain(String agentArgs, Instrumentation instrumentation) {
        Installer.install(agentArgs, instrumentation, true);
    }
}
