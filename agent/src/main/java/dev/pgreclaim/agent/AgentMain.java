package dev.pgreclaim.agent;

import java.lang.instrument.Instrumentation;

/**
 * Entry points: {@code -javaagent:pg-reclaim-agent.jar} ({@link #premain}) and attach ({@link #agentmain}). Neither
 * ever throws into the application: whatever goes wrong is reported once on stderr and the JVM runs as if no agent
 * were attached.
 *
 * <p>{@code premain} registers the driver transformer and nothing else: the policy is read and validated when
 * {@code org.postgresql.Driver} loads (see {@link Activation#policy}). Every class loaded here is paid for by every JVM
 * the agent is attached to, pgjdbc or not, in interpreted code at start-up (about half a millisecond a class).
 */
public final class AgentMain {
    private static boolean installed;

    private AgentMain() {
    }

    public static void premain(String agentArgs, Instrumentation instrumentation) {
        install(agentArgs, instrumentation, false);
    }

    public static void agentmain(String agentArgs, Instrumentation instrumentation) {
        install(agentArgs, instrumentation, true);
    }

    private static void install(String agentArgs, Instrumentation instrumentation, boolean attached) {
        try {
            if (attached) {
                // Every attach, also one after -javaagent: its policy replaces the running one.
                Installer.attach(agentArgs, instrumentation);
                return;
            }
            if (!firstInstall()) {
                return;
            }
            // Retransformation is needed only to weave a driver loaded before an attach. Under -javaagent a
            // plain transformer is enough (and cheaper at start-up); its output survives a later
            // retransformation by another agent, since the JVM keeps what retransformation-incapable
            // transformers produced.
            instrumentation.addTransformer(new DriverTransformer(agentArgs), false);
        } catch (Throwable installFailure) {
            System.err.println("[pg-reclaim] ERROR agent not installed, the application runs as without it: "
                    + installFailure);
        }
    }

    private static synchronized boolean firstInstall() {
        if (installed) {
            System.err.println("[pg-reclaim] WARN agent already installed in this JVM; ignoring the second"
                    + " -javaagent (use the attach command to change the policy of a running JVM)");
            return false;
        }
        installed = true;
        return true;
    }
}
