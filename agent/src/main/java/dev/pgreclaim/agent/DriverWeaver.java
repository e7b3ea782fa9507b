package dev.pgreclaim.agent;

import static net.bytebuddy.matcher.ElementMatchers.isStatic;
import static net.bytebuddy.matcher.ElementMatchers.named;
import static net.bytebuddy.matcher.ElementMatchers.not;
import static net.bytebuddy.matcher.ElementMatchers.takesArguments;

import java.util.Properties;
import net.bytebuddy.ClassFileVersion;
import net.bytebuddy.asm.Advice;
import net.bytebuddy.asm.AsmVisitorWrapper;
import net.bytebuddy.description.type.TypeDescription;
import net.bytebuddy.dynamic.ClassFileLocator;
import net.bytebuddy.dynamic.scaffold.TypeInitializer;
import net.bytebuddy.implementation.Implementation;
import net.bytebuddy.implementation.auxiliary.AuxiliaryType;
import net.bytebuddy.jar.asm.ClassReader;
import net.bytebuddy.jar.asm.ClassVisitor;
import net.bytebuddy.jar.asm.ClassWriter;
import net.bytebuddy.pool.TypePool;
import net.bytebuddy.utility.OpenedClassReader;

/**
 * Applies {@link DriverAdvice} to {@code connect(String, Properties)} of one {@code org.postgresql.Driver} class
 * file. It drives Byte Buddy's {@code Advice} visitor straight over an ASM reader/writer rather than through the
 * {@code ByteBuddy().redefine()} DSL: the same bytecode for a fraction of the classes loaded (measured here: the DSL
 * weave alone took ~215 ms). The only class that knows Byte Buddy.
 */
final class DriverWeaver {
    static final String DRIVER_NAME = "org.postgresql.Driver";
    /** The woven class names the bridge (as a class, or as a string); its absence means the method was not found. */
    private static final String BRIDGE_REFERENCE = "dev/pgreclaim/agent/bridge/ConnectBridge";

    private DriverWeaver() {
    }

    /** {@link #weave(ClassLoader, byte[], boolean)} for a loader that sees the agent's classes. */
    static byte[] weave(ClassLoader loader, byte[] classfile) {
        return weave(loader, classfile, true);
    }

    /**
     * The woven class file; throws when {@code connect(String, Properties)} was not found. {@code agentVisible}: the
     * driver's loader sees the agent's classes ({@link DriverAdvice}), else {@link SystemLoaderDriverAdvice}.
     */
    static byte[] weave(ClassLoader loader, byte[] classfile, boolean agentVisible) {
        ClassFileLocator locator = new ClassFileLocator.Compound(ClassFileLocator.Simple.of(DRIVER_NAME, classfile),
                loader == null ? ClassFileLocator.ForClassLoader.ofBootLoader()
                        : ClassFileLocator.ForClassLoader.of(loader));
        TypePool pool = TypePool.Default.WithLazyResolution.of(locator);
        TypeDescription driver = pool.describe(DRIVER_NAME).resolve();
        AsmVisitorWrapper.ForDeclaredMethods advice = Advice
                .to(agentVisible ? DriverAdvice.class : SystemLoaderDriverAdvice.class)
                .on(named("connect").and(takesArguments(String.class, Properties.class)).and(not(isStatic())));
        ClassReader reader = OpenedClassReader.of(classfile);
        int writerFlags = advice.mergeWriter(0);
        int readerFlags = advice.mergeReader(0);
        ClassWriter writer = new ClassWriter(reader, writerFlags);
        ClassFileVersion version = ClassFileVersion.ofClassFile(classfile);
        Implementation.Context.ExtractableView context = Implementation.Context.Disabled.Factory.INSTANCE.make(
                driver, new AuxiliaryType.NamingStrategy.Suffixing("pgreclaim"), TypeInitializer.None.INSTANCE,
                version, version, Implementation.Context.FrameGeneration.GENERATE);
        ClassVisitor visitor = advice.wrap(driver, writer, context, pool, driver.getDeclaredFields(),
                driver.getDeclaredMethods(), writerFlags, readerFlags);
        reader.accept(visitor, readerFlags);
        byte[] woven = writer.toByteArray();
        if (!mentions(woven, agentVisible ? BRIDGE_REFERENCE : SystemLoaderDriverAdvice.BRIDGE_NAME)) {
            throw new IllegalStateException("connect(String, Properties) not found in " + DRIVER_NAME);
        }
        return woven;
    }

    /** Whether the class file's bytes contain an ASCII string (a constant-pool entry). */
    static boolean mentions(byte[] classfile, String ascii) {
        byte[] needle = ascii.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        outer:
        for (int i = 0; i <= classfile.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (classfile[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }
}
