package dev.pgreclaim.agent;

import dev.pgreclaim.agent.bridge.ConnectBridge;
import dev.pgreclaim.log.AgentLog;
import dev.pgreclaim.metrics.AgentStats;
import dev.pgreclaim.metrics.ReclaimMetrics;
import dev.pgreclaim.policy.Policy;
import dev.pgreclaim.reclaim.Reclaimer;
import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.instrument.Instrumentation;
import java.lang.reflect.Method;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;

/**
 * What happens when {@code org.postgresql.Driver} appears: the reclaim machinery is built once, the bridge is made
 * visible to the driver's class loader, and the class is woven. Kept apart from {@link DriverTransformer} so that
 * none of this is loaded in a JVM that never loads the driver.
 */
final class Activation {
    private static final String BRIDGE_CLASS = "dev.pgreclaim.agent.bridge.ConnectBridge";
    /** How long after the driver loads the MBean is registered. */
    static final long MBEAN_DELAY_MILLIS = 2000;

    private static volatile Policy policy;
    private static volatile Instrumentation instrumentation;
    private static ConnectInterceptor interceptor;
    private static boolean bootstrapBridgeInstalled;

    private Activation() {
    }

    static void prepare(Policy validPolicy, Instrumentation inst) {
        policy = validPolicy;
        instrumentation = inst;
    }

    /** Weaves one driver class file; on any failure the driver loads unchanged and the reason is logged once. */
    static byte[] weave(ClassLoader loader, byte[] classfile) {
        try {
            AgentLog.useApplicationLoader(loader);
            activate(loader);
            if (!seesAgentClasses(loader)) {
                installBootstrapBridge();
            }
            return DriverWeaver.weave(loader, classfile);
        } catch (Throwable weaveFailure) {
            AgentLog.warnOnce("weave", "pg-reclaim: could not weave org.postgresql.Driver in {}; the driver runs"
                    + " unchanged: {}", describe(loader), weaveFailure.toString());
            return null;
        }
    }

    private static synchronized void activate(final ClassLoader loader) {
        if (interceptor != null) {
            return;
        }
        final Policy active = policy;
        final ReclaimMetrics metrics = new ReclaimMetrics();
        Reclaimer reclaimer = new Reclaimer(active, metrics);
        interceptor = new ConnectInterceptor(reclaimer, metrics);
        ConnectBridge.install(interceptor);
        AgentLog.info("pg-reclaim: active on org.postgresql.Driver ({}); policy: {}", describe(loader), active);
        for (String warning : active.warnings()) {
            AgentLog.warn("pg-reclaim: {}", warning);
        }
        if (active.jmx() || active.selfCheck()) {
            // Off the application's thread, and the MBean a little later: creating the platform MBean server loads
            // ~400 classes (management, JMX, JFR beans) and would compete with the application's own start-up for
            // the CPU while the driver is being loaded. The counters are kept from the start either way.
            Thread init = new Thread(new Runnable() {
                @Override
                public void run() {
                    if (active.selfCheck()) {
                        SelfCheck.run(active, loader);
                    }
                    if (active.jmx()) {
                        try {
                            Thread.sleep(MBEAN_DELAY_MILLIS);
                        } catch (InterruptedException interrupted) {
                            Thread.currentThread().interrupt();
                            return;
                        }
                        AgentStats.register(metrics, active.toString());
                    }
                }
            }, "pg-reclaim-init");
            init.setDaemon(true);
            init.start();
        }
    }

    /** True when the agent's classes are visible from the loader (its parent chain reaches the agent's loader). */
    static boolean seesAgentClasses(ClassLoader loader) {
        ClassLoader agentLoader = ConnectBridge.class.getClassLoader();
        for (ClassLoader current = loader; current != null; current = current.getParent()) {
            if (current == agentLoader) {
                return true;
            }
        }
        return false;
    }

    /**
     * For a driver in an isolated loader (parent: platform or bootstrap): puts a copy of the JDK-typed bridge into
     * the bootstrap loader and hands it the same handler. Only done when needed, since appending to the bootstrap
     * search path turns class-data sharing off for classes loaded afterwards.
     */
    private static synchronized void installBootstrapBridge() throws IOException, ReflectiveOperationException {
        if (bootstrapBridgeInstalled) {
            return;
        }
        String resource = BRIDGE_CLASS.replace('.', '/') + ".class";
        File jar = File.createTempFile("pg-reclaim-bridge", ".jar");
        jar.deleteOnExit();
        InputStream classfile = ConnectBridge.class.getClassLoader().getResourceAsStream(resource);
        if (classfile == null) {
            throw new IOException("bridge class file not found in the agent jar");
        }
        JarOutputStream out = new JarOutputStream(new FileOutputStream(jar));
        try {
            out.putNextEntry(new JarEntry(resource));
            byte[] buffer = new byte[4096];
            int n;
            while ((n = classfile.read(buffer)) > 0) {
                out.write(buffer, 0, n);
            }
            out.closeEntry();
        } finally {
            out.close();
            classfile.close();
        }
        instrumentation.appendToBootstrapClassLoaderSearch(new JarFile(jar));
        Class<?> bootBridge = Class.forName(BRIDGE_CLASS, true, null);
        if (bootBridge != ConnectBridge.class) {
            Method install = bootBridge.getMethod("install", java.util.function.Function.class);
            install.invoke(null, interceptor);
        }
        bootstrapBridgeInstalled = true;
        AgentLog.info("pg-reclaim: the driver's class loader cannot see the agent jar; bridge placed in the"
                + " bootstrap loader");
    }

    /** Attach: weave drivers loaded before the agent arrived. */
    static void retransformLoadedDrivers(Instrumentation inst) {
        for (Class<?> loaded : inst.getAllLoadedClasses()) {
            if (DriverWeaver.DRIVER_NAME.equals(loaded.getName())) {
                try {
                    inst.retransformClasses(loaded);
                } catch (Throwable retransformFailure) {
                    AgentLog.warn("pg-reclaim: could not retransform org.postgresql.Driver in {}: {}",
                            describe(loaded.getClassLoader()), retransformFailure.toString());
                }
            }
        }
    }

    private static String describe(ClassLoader loader) {
        return loader == null ? "bootstrap loader" : loader.getClass().getName();
    }
}
