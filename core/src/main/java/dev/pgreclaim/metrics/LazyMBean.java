package dev.pgreclaim.metrics;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import javax.management.MBeanServer;
import javax.management.MBeanServerFactory;
import javax.management.ObjectName;

/**
 * When pg-reclaim's MBean ({@code pgreclaim.jmx=true}) is registered. Creating the JVM's platform MBean server costs
 * an application that has no JMX of its own about 8.5 MiB of memory and 0.2 s of CPU on Java 17 (about 20 MiB on
 * Java 25), more than the rest of pg-reclaim's start-up, so pg-reclaim never creates it just in case:
 * <ul>
 *   <li>at the background start ({@link #start}), the MBean is registered when the platform server already exists
 *       (the application's own JMX, a JMX exporter agent, a {@code jconsole} or {@code jcmd} management agent);</li>
 *   <li>otherwise after the first refusal pg-reclaim sees (from then on the MBean has something to show), once no
 *       refusal has come for {@value #QUIET_MILLIS} ms (at most {@value #MAX_WAIT_MILLIS} ms after the first), so
 *       that creating the platform server never competes for the CPU with the reclaim it is about to report; or at
 *       the first open after a platform server has appeared (looked for at most every {@value #RECHECK_SECONDS} s, a
 *       lookup of a few microseconds that creates nothing).</li>
 * </ul>
 * The registration itself runs on a short-lived daemon thread, {@code pg-reclaim-jmx}, never on the application's.
 * The counters are kept from the start either way, so a later registration shows everything since activation.
 */
public final class LazyMBean {
    static final long RECHECK_SECONDS = 5;
    /**
     * After a refusal, how long no further refusal must come before the platform server is created: a reclaim round
     * (the admin login, the victim query, the retried login) takes milliseconds to a few hundred, and creating the
     * server (~400 classes, ~0.2 s of CPU) during it made the first reclaim of a JVM a third slower and a surge of
     * first reclaims across 8 JVMs 1.6-1.8 times as long (benchmarks of 2026-12-04, 12:05 against 12:39 and 13:03).
     */
    static final long QUIET_MILLIS = 2000;
    /** The longest a refusal-triggered registration waits for that quiet (a refusal storm that does not end). */
    static final long MAX_WAIT_MILLIS = 10000;
    private static final String PLATFORM_BEAN = "java.lang:type=Runtime";

    private final String objectName;
    private final ReclaimMetrics metrics;
    private final AtomicReference<String> policy;
    private final AtomicBoolean claimed = new AtomicBoolean();
    private volatile long nextCheckNanos;

    private LazyMBean(String objectName, ReclaimMetrics metrics, AtomicReference<String> policy) {
        this.objectName = objectName;
        this.metrics = metrics;
        this.policy = policy;
    }

    /**
     * At the background start (off the application's threads): registers the MBean now if the JVM has a platform
     * MBean server, else arms {@code metrics} to do it later (see the class comment). Never throws.
     */
    public static void start(String objectName, ReclaimMetrics metrics, AtomicReference<String> policy) {
        if (platformServerExists()) {
            ReclaimStats.register(objectName, metrics, policy);
            return;
        }
        LazyMBean lazy = new LazyMBean(objectName, metrics, policy);
        lazy.nextCheckNanos = System.nanoTime() + TimeUnit.SECONDS.toNanos(RECHECK_SECONDS);
        metrics.armMBean(lazy);
    }

    /**
     * On an application's thread (a new wrapper policy asking for JMX after the background start): registers at the
     * next open or refusal, off the application's thread, unless a registration is already pending.
     */
    public static void arm(String objectName, ReclaimMetrics metrics, AtomicReference<String> policy) {
        if (metrics.mBeanPending()) {
            return;
        }
        LazyMBean lazy = new LazyMBean(objectName, metrics, policy);
        lazy.nextCheckNanos = System.nanoTime();
        metrics.armMBean(lazy);
    }

    /** Registers now, on this thread (an attach that turned JMX on: the operator asked for it). */
    public static void registerNow(String objectName, ReclaimMetrics metrics, AtomicReference<String> policy) {
        metrics.armMBean(null);
        ReclaimStats.register(objectName, metrics, policy);
    }

    /** Drops a pending registration (an attach turned JMX off). */
    public static void disarm(ReclaimMetrics metrics) {
        metrics.armMBean(null);
    }

    /** A refusal was seen: register off this thread, once refusals have been quiet for {@link #QUIET_MILLIS}. */
    void onRefusal() {
        registerInBackground(true);
    }

    /** The application opened a connection: at most every few seconds, look for a platform server. */
    void onOpen() {
        long now = System.nanoTime();
        if (now - nextCheckNanos < 0 || claimed.get()) {
            return;
        }
        nextCheckNanos = now + TimeUnit.SECONDS.toNanos(RECHECK_SECONDS);
        if (platformServerExists()) {
            registerInBackground(false);
        }
    }

    private void registerInBackground(final boolean afterQuiet) {
        if (!claimed.compareAndSet(false, true)) {
            return;
        }
        try {
            Thread register = new Thread(new Runnable() {
                @Override
                public void run() {
                    if (afterQuiet && !awaitQuiet()) {
                        return;
                    }
                    // still pending: not disarmed, nor registered by an attach, while this thread waited
                    if (metrics.claimMBean(LazyMBean.this)) {
                        ReclaimStats.register(objectName, metrics, policy);
                    }
                }
            }, "pg-reclaim-jmx");
            register.setDaemon(true);
            register.start();
        } catch (Throwable cannotStart) {
            // best effort: the counters still count, the log lines still say what happened
        }
    }

    /** Sleeps until no refusal came for {@link #QUIET_MILLIS} (at most {@link #MAX_WAIT_MILLIS}); false if cut off. */
    private boolean awaitQuiet() {
        long start = System.nanoTime();
        try {
            while (true) {
                long seen = metrics.refusalsTotal();
                Thread.sleep(QUIET_MILLIS);
                if (metrics.refusalsTotal() == seen
                        || System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(MAX_WAIT_MILLIS)) {
                    return true;
                }
            }
        } catch (InterruptedException interrupted) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** True when the JVM's platform MBean server exists; looks, creates nothing, never throws. */
    static boolean platformServerExists() {
        try {
            ObjectName platformBean = new ObjectName(PLATFORM_BEAN);
            for (MBeanServer server : MBeanServerFactory.findMBeanServer(null)) {
                if (server.isRegistered(platformBean)) {
                    return true;
                }
            }
        } catch (Throwable cannotLook) {
            // a security manager that denies the lookup: treat as absent, register at the first refusal
        }
        return false;
    }
}
