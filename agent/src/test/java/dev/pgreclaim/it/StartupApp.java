package dev.pgreclaim.it;

/**
 * A minimal application for start-up checks. Arg {@code none}: touches no JDBC at all; {@code driver}: loads
 * {@code org.postgresql.Driver} (which registers itself) and nothing more; {@code driver-then-wait MILLIS}: the same,
 * then stays alive that long, opening nothing.
 */
public final class StartupApp {
  private StartupApp() {}

  public static void main(String[] args) throws Exception {
    if (args.length > 0 && args[0].startsWith("driver")) {
      Class.forName("org.postgresql.Driver");
      System.out.println("DRIVER LOADED");
      if (args[0].equals("driver-then-wait")) {
        Thread.sleep(Long.parseLong(args[1]));
        System.out.println("WAITED");
      }
    } else {
      System.out.println("NO DRIVER");
    }
  }
}
