package dev.pgreclaim.agent;

import dev.pgreclaim.agent.bridge.ConnectBridge;
import java.util.Properties;
import net.bytebuddy.asm.Advice;

/**
 * Inlined into {@code org.postgresql.Driver.connect(String, Properties)}. It names JDK types and
 * {@link ConnectBridge} only, since it runs in the driver's class loader. A successful first open costs one
 * {@code System.nanoTime()} and a null check. On failure it hands the outcome to the bridge, and re-runs the original
 * body (Byte Buddy's {@code repeatOn}: no recursion, no added method, so it also works on retransformation) while the
 * bridge says so. Giving up restores the first exception, the one the application would have got without the agent.
 * Any failure inside the advice is suppressed: the original outcome passes through.
 */
public final class DriverAdvice {
    private DriverAdvice() {
    }

    @Advice.OnMethodEnter
    static long enter() {
        return System.nanoTime();
    }

    @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class,
            repeatOn = Advice.OnNonDefaultValue.class)
    static boolean exit(@Advice.This Object driver, @Advice.Argument(0) String url,
            @Advice.Argument(1) Properties info, @Advice.Enter long startNanos,
            @Advice.Thrown(readOnly = false) Throwable thrown, @Advice.Local("pgreclaimRound") Object[] round) {
        if (thrown == null && round == null) {
            return false;
        }
        if (round == null) {
            round = new Object[3];
            round[0] = Long.valueOf(startNanos);
        }
        boolean retry = ConnectBridge.onExit(driver, url, info, thrown, round);
        if (!retry && thrown != null && round[1] instanceof Throwable) {
            thrown = (Throwable) round[1];
        }
        return retry;
    }
}
