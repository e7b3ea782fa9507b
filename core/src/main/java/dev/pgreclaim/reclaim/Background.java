package dev.pgreclaim.reclaim;

import dev.pgreclaim.log.ReclaimLog;
import dev.pgreclaim.policy.Policy;

/**
 * The work an entry point (the agent's activation, the wrapper's first active open) starts off the application's
 * threads, on daemon threads, the same for both: the start-up work a little later, and the optional self-check.
 */
public final class Background {
    /**
     * How long after activation the reclaim path is prewarmed and the MBean registered: creating the platform MBean
     * server loads ~400 classes (management, JMX, JFR beans) and loading the reclaim path ahead of need ~80 more;
     * both would compete with the application's own start-up for the CPU while the driver is being loaded. The
     * counters are kept from the start either way, and a reclaim before then loads what it needs itself.
     */
    public static final long DELAY_MILLIS = 2000;

    private Background() {
    }

    /**
     * On the {@code pg-reclaim-init} daemon thread, {@link #DELAY_MILLIS} from now: {@link Prewarm#run()}, then
     * {@code afterPrewarm} (the MBean registration, which needs the JMX classes only if the policy asks for it), then
     * the rehearsals offered so far ({@link Rehearsal}).
     */
    public static void startInit(final Runnable afterPrewarm) {
        Thread init = new Thread(new Runnable() {
            @Override
            public void run() {
                try {
                    Thread.sleep(DELAY_MILLIS);
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    return;
                }
                int prewarmed = Prewarm.run();
                ReclaimLog.debug("pg-reclaim: {} classes of the reclaim path loaded ahead of need", prewarmed);
                afterPrewarm.run();
                Rehearsal.runPending();
            }
        }, "pg-reclaim-init");
        init.setDaemon(true);
        init.start();
    }

    /** Runs {@link SelfCheck} of {@code policy} on the daemon thread {@code pg-reclaim-self-check} (needs a loader). */
    public static void selfCheck(final Policy policy, final ClassLoader driverLoader) {
        if (driverLoader == null) {
            return;
        }
        Thread check = new Thread(new Runnable() {
            @Override
            public void run() {
                SelfCheck.run(policy, driverLoader);
            }
        }, "pg-reclaim-self-check");
        check.setDaemon(true);
        check.start();
    }
}
