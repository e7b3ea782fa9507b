package dev.pgreclaim.agent;

import dev.pgreclaim.policy.Policy;
import java.lang.instrument.ClassFileTransformer;
import java.security.ProtectionDomain;

/**
 * Registered at start-up; does nothing but compare one class name per loaded class until
 * {@code org.postgresql.Driver} appears. Only then are Byte Buddy and the reclaim code loaded. A JVM that never
 * touches pgjdbc pays for this class and one string comparison per class load.
 */
final class DriverTransformer implements ClassFileTransformer {
    static final String DRIVER_INTERNAL_NAME = "org/postgresql/Driver";

    private final Policy policy;

    DriverTransformer(Policy policy) {
        this.policy = policy;
    }

    @Override
    public byte[] transform(ClassLoader loader, String className, Class<?> classBeingRedefined,
            ProtectionDomain protectionDomain, byte[] classfileBuffer) {
        if (!DRIVER_INTERNAL_NAME.equals(className)) {
            return null;
        }
        return Activation.weave(policy, loader, classfileBuffer);
    }
}
