package dev.pgreclaim.bench;

/**
 * Child program of the JVM-start figure. {@code StartApp none} touches no JDBC at all; {@code StartApp driver}
 * loads and initialises {@code org.postgresql.Driver} (which registers itself with DriverManager) and nothing more;
 * {@code StartApp lives} does the same, then lives past the agent's background start-up work (which begins 2 s after
 * the driver loads): it sleeps {@value #LIVE_MILLIS} ms and joins every thread whose name starts with
 * {@code pg-reclaim}, for at most 10 s each, and prints how many it joined ({@code JOINED n}).
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
            Thread.sleep(LIVE_MILLIS);
            Thread[] threads = new Thread[Thread.activeCount() + 16];
            int count = Thread.enumerate(threads);
            int joined = 0;
            for (int i = 0; i < count; i++) {
                if (threads[i].getName().startsWith("pg-reclaim")) {
                    threads[i].join(10_000);
                    joined += threads[i].isAlive() ? 0 : 1;
                }
            }
            System.out.println("JOINED " + joined);
        }
        System.out.println("ok");
    }
}
