package dev.pgreclaim.testkit;

import java.util.Map;
import org.opentest4j.TestAbortedException;

/**
 * {@link PostgresServers#startPrivate} for tests that need a server of their own (settings, restarts, preloaded
 * libraries). With an external server configured such a test cannot run: under CI
 * ({@link PostgresServers#requireServer()}) that fails the test; elsewhere it is skipped, saying so on stderr, never
 * silently.
 */
public final class PrivateServer {
  private PrivateServer() {}

  public static PostgresServer start(Map<String, String> settings) {
    try {
      return PostgresServers.startPrivate(settings);
    } catch (TestAbortedException cannotStart) {
      String why = "this test needs a private PostgreSQL server of its own: " + cannotStart.getMessage();
      if (PostgresServers.requireServer()) {
        throw new AssertionError(why + " (CI=true: a test that cannot run fails; unset PGRECLAIM_TEST_URL so the"
            + " tests start their own servers)", cannotStart);
      }
      System.err.println("[pgreclaim-testkit] SKIPPED: " + why);
      throw cannotStart;
    }
  }
}
