package dev.pgreclaim.agent;

import java.util.Properties;
import net.bytebuddy.asm.Advice;

/**
 * {@link DriverAdvice} for a driver whose class loader cannot see the agent jar (an isolated loader whose parent is
 * the platform loader, OSGi-style): it names no agent class at all, and reaches the one
 * {@link dev.pgreclaim.agent.bridge.ConnectBridge} through the system class loader (where {@code -javaagent:} and
 * attach put the agent) by reflection. This replaces a copy of the bridge in the bootstrap loader: appending to the
 * bootstrap search path makes the JVM print "Sharing is only supported for boot loader classes because bootstrap
 * classpath has been appended" on stderr (measured on Java 17 and 25) and turns class-data sharing off for classes
 * loaded afterwards, and defining the class there by other means would need {@code jdk.internal.misc} exported to the
 * application's class path. The reflective lookup runs only when an open failed or is being retried; a successful
 * first open costs the same as with {@link DriverAdvice}.
 */
public final class SystemLoaderDriverAdvice {
    /** Kept in the woven class file as a string constant; {@link DriverWeaver} checks for it. */
    static final String BRIDGE_NAME = "dev.pgreclaim.agent.bridge.ConnectBridge";

    private SystemLoaderDriverAdvice() {
    }

    @Advice.OnMethodEnter
    static long enter() {
        return System.nanoTime();
    }

    @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class,
            repeatOn = Advice.OnNonDefaultValue.class)
    static boolean exit(@Advice.This Object driver, @Advice.Argument(0) String url,
            @Advice.Argument(1) Properties info, @Advice.Enter long startNanos,
            @Advice.Thrown(readOnly = false) Throwable thrown, @Advice.Local("pgreclaimRound") Object[] round)
            throws Exception {
        if (thrown == null && round == null) {
            return false;
        }
        if (round == null) {
            round = new Object[3];
            round[0] = Long.valueOf(startNanos);
        }
        Object answer = Class.forName("dev.pgreclaim.agent.bridge.ConnectBridge", true,
                ClassLoader.getSystemClassLoader())
                .getMethod("onExit", Object.class, String.class, Properties.class, Throwable.class, Object[].class)
                .invoke(null, driver, url, info, thrown, round);
        boolean retry = Boolean.TRUE.equals(answer);
        if (!retry && thrown != null && round[1] instanceof Throwable) {
            thrown = (Throwable) round[1];
        }
        return retry;
    }
}
