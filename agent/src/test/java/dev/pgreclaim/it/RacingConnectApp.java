package dev.pgreclaim.it;

import java.sql.Connection;
import java.sql.SQLException;

/**
 * {@link ConnectApp} for races between JVMs: waits until a wall-clock instant, opens one connection, holds it for a
 * while (so the slot stays taken while the other JVMs race), then reports like ConnectApp.
 *
 * <p>Args: {@code startAtEpochMillis holdMillis url user}; password from env APP_PASSWORD.
 */
public final class RacingConnectApp {
  private RacingConnectApp() {}

  public static void main(String[] args) throws Exception {
    long startAt = Long.parseLong(args[0]);
    long hold = Long.parseLong(args[1]);
    Class.forName("org.postgresql.Driver"); // weave before the start line, not during the race
    long wait = startAt - System.currentTimeMillis();
    if (wait > 0) {
      Thread.sleep(wait);
    }
    try (Connection connection = ConnectApp.open("drivermanager", args[2], args[3], System.getenv("APP_PASSWORD"))) {
      System.out.println(connection.isClosed() ? "CLOSED" : "CONNECTED");
      Thread.sleep(hold);
    } catch (SQLException refused) {
      System.out.println("FAILED sqlstate=" + refused.getSQLState() + " suppressed=" + refused.getSuppressed().length);
      for (Throwable suppressed : refused.getSuppressed()) {
        System.out.println("SUPPRESSED " + suppressed.getMessage());
      }
      System.exit(1);
    }
  }
}
