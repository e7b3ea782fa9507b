package dev.pgreclaim.reclaim;

import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

/**
 * When the rehearsal ({@code pgreclaim.rehearse}) of each {@link Reclaimer} runs: never on the application's thread,
 * and never before pg-reclaim's background start ({@link Background#DELAY_MILLIS} after activation), so it does not
 * compete with the application's own start-up. A reclaimer offers its first successful open; offers made before the
 * background start wait for it and run on its thread, later ones get a daemon thread of their own.
 */
final class Rehearsal {
    /** Offers kept while waiting for the background start (a JVM has one reclaimer, or one per wrapper policy). */
    static final int MAX_PENDING = 16;

    private static final List<Object[]> PENDING = new ArrayList<Object[]>();
    private static boolean armed;

    private Rehearsal() {
    }

    /** The first successful open of {@code reclaimer}: rehearse its reclaim path once, later, off this thread. */
    static void offer(Reclaimer reclaimer, Object driver, String url, Properties info) {
        final Object[] offer = {reclaimer, driver, url, info};
        synchronized (Rehearsal.class) {
            if (!armed) {
                if (PENDING.size() < MAX_PENDING) {
                    PENDING.add(offer);
                }
                return;
            }
        }
        Thread thread = new Thread(new Runnable() {
            @Override
            public void run() {
                rehearse(offer);
            }
        }, "pg-reclaim-rehearsal");
        thread.setDaemon(true);
        thread.start();
    }

    /** On the background start's thread: runs the offers made so far; later offers run at once. */
    static void runPending() {
        List<Object[]> offers;
        synchronized (Rehearsal.class) {
            armed = true;
            offers = new ArrayList<Object[]>(PENDING);
            PENDING.clear();
        }
        for (Object[] offer : offers) {
            rehearse(offer);
        }
    }

    private static void rehearse(Object[] offer) {
        ((Reclaimer) offer[0]).rehearse(offer[1], (String) offer[2], (Properties) offer[3]);
    }
}
