package dev.pgreclaim.agent;

import java.lang.instrument.ClassFileTransformer;
import java.security.ProtectionDomain;

/**
 * Registered at start-up; does nothing but compare one class name per loaded class until
 * {@code org.postgresql.Driver} appears. Only then are the policy, Byte Buddy's ASM and the reclaim code loaded. A
 * JVM that never touches pgjdbc pays for this class, {@link AgentMain} and one string comparison per class load.
 */
final class DriverTransformer implements ClassFileTransformer {
    static final String DRIVER_INTERNAL_NAME = "org/postgresql/Driver";

    private final String agentArgs;

    DriverTransformer(String agentArgs) {
        this.agentArgs = agentArgs;
    }

    @Override
    public byte[] transform(ClassLoader loader, String className, Class<?> classBeingRedefined,
            ProtectionDomain protectionDomain, byte[] classfileBuffer) {
        if (!DRIVER_INTERNAL_NAME.equals(className)) {
            return null;
        }
        return Activation.weave(agentArgs, loader, classfileBuffer);
    }
}
