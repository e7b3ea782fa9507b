package dev.pgreclaim.it;

/**
 * A minimal application for start-up checks. Arg {@code none}: touches no JDBC at all; {@code driver}: loads
 * {@code org.postgresql.Driver} (which registers itself) and nothing more; {@code driver-then-wait MILLIS}: the same,
 * then stays alive, opening nothing, until the agent's background start-up thread ({@code pg-reclaim-init}) has ended
 * (at most MILLIS: then it prints {@code INIT STILL RUNNING}), and prints {@code WAITED}.
 */
public final class StartupApp {
  private StartupApp() {}

  public static void main(String[] args) throws Exception {
    if (args.length > 0 && args[0].startsWith("driver")) {
      Class.forName("org.postgresql.Driver");
      System.out.println("DRIVER LOADED");
      if (args[0].equals("driver-then-wait")) {
        long until = System.nanoTime() + Long.parseLong(args[1]) * 1_000_000;
        while (initThreadAlive()) {
          if (System.nanoTime() > until) {
            System.out.println("INIT STILL RUNNING");
            break;
          }
          Thread.sleep(20);
        }
        System.out.println("WAITED");
      }
    } else {
      System.out.println("NO DRIVER");
    }
  }

  private static boolean initThreadAlive() {
    for (Thread thread : Thread.getAllStackTraces().keySet()) {
      if (thread.getName().equals("pg-reclaim-init") && thread.isAlive()) {
        return true;
      }
    }
    return false;
  }
}
