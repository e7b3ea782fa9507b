package dev.pgreclaim.it;

/**
 * A minimal application for start-up checks. Arg {@code none}: touches no JDBC at all; {@code driver}: loads
 * {@code org.postgresql.Driver} (which registers itself) and nothing more.
 */
public final class StartupApp {
  private StartupApp() {}

  public static void main(String[] args) throws Exception {
    if (args.length > 0 && args[0].equals("driver")) {
      Class.forName("org.postgresql.Driver");
      System.out.println("DRIVER LOADED");
    } else {
      System.out.println("NO DRIVER");
    }
  }
}
