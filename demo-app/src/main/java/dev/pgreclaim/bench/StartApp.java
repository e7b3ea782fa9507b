package dev.pgreclaim.bench;

import java.util.ArrayList;
import java.util.List;

/**
 * Child program of the JVM-start figure. {@code StartApp none} touches no JDBC at all; {@code StartApp driver}
 * loads and initialises {@code org.postgresql.Driver} (which registers itself with DriverManager) and nothing more;
 * {@code StartApp lives} does the same, then lives past the agent's background start-up work (which begins 2 s after
 * the driver loads): it notes every thread whose name starts with {@code pg-reclaim} right after the driver loaded,
 * sleeps {@value #LIVE_MILLIS} ms, joins them (at most 10 s each) and prints how many ended ({@code JOINED n}).
 */
public final class StartApp {
    static final long LIVE_MILLIS = 2500;

    private StartApp() {
    }

    public static void main(String[] args) throws Exception {
        String program = args.length > 0 ? args[0] : "none";
        if (program.equals("driver") || program.equals("lives")) {
            Class.forName("org.postgresql.Driver");
        }
        if (program.equals("lives")) {
            // found before the sleep: by the time it ends, the agent's thread may have done its work and gone
            List<Thread> agentThreads = new ArrayList<>();
            Thread[] threads = new Thread[Thread.activeCount() + 16];
            int count = Thread.enumerate(threads);
            for (int i = 0; i < count; i++) {
                if (threads[i].getName().startsWith("pg-reclaim")) {
                    agentThreads.add(threads[i]);
                }
            }
            Thread.sleep(LIVE_MILLIS);
            int joined = 0;
            for (Thread thread : agentThreads) {
                thread.join(10_000);
                joined += thread.isAlive() ? 0 : 1;
            }
            System.out.println("JOINED " + joined);
        }
        System.out.println("ok");
    }
}
