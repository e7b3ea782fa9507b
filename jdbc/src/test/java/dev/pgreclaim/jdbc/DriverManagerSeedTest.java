package dev.pgreclaim.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgreclaim.jdbc.HeldSessions.State;
import dev.pgreclaim.testkit.PostgresServer;
import dev.pgreclaim.testkit.PostgresTest;
import dev.pgreclaim.testkit.TestDatabase;
import dev.pgreclaim.testkit.TestDatabase.Seed;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The seed story through {@code DriverManager} and the wrapper URL alone (no agent in this JVM): the role's only slot
 * is held by an idle session, the open reclaims it, once.
 */
@PostgresTest
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class DriverManagerSeedTest {

  @Test
  void theOpenGetsItsConnectionByTerminatingTheIdleSessionOnce(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, 1); HeldSessions held = new HeldSessions(server);
        LogCapture log = LogCapture.start()) {
      int idle = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "forgotten-psql");
      held.awaitIdleFor(300, idle);
      long terminationsBefore = EffectivePolicies.METRICS.terminations();

      Connection connection = DriverManager.getConnection(WrapperSetup.terminatingUrl(seed), WrapperSetup.login(seed));
      held.keep(connection);

      assertThat(backendPid(connection)).isNotEqualTo(idle);
      assertThat(held.gone(idle)).as("the idle session is terminated").isTrue();
      assertThat(EffectivePolicies.METRICS.terminations() - terminationsBefore).isEqualTo(1);
      assertThat(log.count("pg-reclaim AUDIT terminated pid=")).isEqualTo(1);
      assertThat(log.text()).contains("pg-reclaim AUDIT terminated pid=" + idle + " role=" + seed.role())
          .contains("application_name='forgotten-psql'")
          .doesNotContain(seed.adminPassword());
    }
  }

  @Test
  void withDriverManagersLoginTimeout(PostgresServer server) throws Exception {
    int before = DriverManager.getLoginTimeout();
    DriverManager.setLoginTimeout(20);
    try {
      seedStoryWith(server, new Properties());
    } finally {
      DriverManager.setLoginTimeout(before);
    }
  }

  @Test
  void withTheLoginTimeoutProperty(PostgresServer server) throws Exception {
    Properties extra = new Properties();
    extra.setProperty("loginTimeout", "20");
    seedStoryWith(server, extra);
  }

  private static void seedStoryWith(PostgresServer server, Properties extra) throws Exception {
    try (Seed seed = TestDatabase.seed(server, 1); HeldSessions held = new HeldSessions(server);
        LogCapture log = LogCapture.start()) {
      int idle = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "forgotten-psql");
      held.awaitIdleFor(300, idle);
      Properties info = WrapperSetup.login(seed);
      info.putAll(extra);

      Connection connection = DriverManager.getConnection(WrapperSetup.terminatingUrl(seed), info);
      held.keep(connection);

      assertThat(held.gone(idle)).isTrue();
      assertThat(log.count("pg-reclaim AUDIT terminated pid=" + idle + " ")).isEqualTo(1);
      assertThat(log.count("pg-reclaim AUDIT")).isEqualTo(1);
    }
  }

  static int backendPid(Connection connection) throws Exception {
    try (Statement statement = connection.createStatement();
        ResultSet rows = statement.executeQuery("select pg_backend_pid()")) {
      rows.next();
      return rows.getInt(1);
    }
  }
}
