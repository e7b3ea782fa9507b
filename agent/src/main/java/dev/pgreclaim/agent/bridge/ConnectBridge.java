package dev.pgreclaim.agent.bridge;

import java.util.Properties;
import java.util.function.Function;

/**
 * The one agent class the woven {@code Driver.connect} calls. Its signature uses only JDK types, so when the driver
 * lives in a class loader that cannot see the agent jar (an isolated loader whose parent is the platform loader) the
 * woven driver can call it by reflection through the system class loader
 * (see {@code DriverWeaver}).
 */
public final class ConnectBridge {
    private static volatile Function<Object[], Object> handler;

    private ConnectBridge() {
    }

    /** Installs the agent's handler; {@code apply} returns {@code Boolean.TRUE} to re-run the open. */
    public static void install(Function<Object[], Object> newHandler) {
        handler = newHandler;
    }

    /**
     * Called by the woven {@code connect} after every run of its original body.
     *
     * @param result the connection the run returned, or null
     * @param thrown what the run threw, or null
     * @param round state of this open across retries: [0] start nanos, [1] what to throw if the agent hands back a
     *              failure (the original refusal unless the agent chose otherwise), [2] the agent's per-open state,
     *              [3] the Properties and [4] the URL for the next run (null: unchanged)
     * @return true to re-run the original body of {@code connect}
     */
    public static boolean onExit(Object driver, String url, Properties info, Object result, Throwable thrown,
            Object[] round) {
        Function<Object[], Object> current = handler;
        if (current == null) {
            return false;
        }
        try {
            return current.apply(new Object[] {driver, url, info, result, thrown, round}) == Boolean.TRUE;
        } catch (Throwable agentFailure) {
            return false;
        }
    }
}
