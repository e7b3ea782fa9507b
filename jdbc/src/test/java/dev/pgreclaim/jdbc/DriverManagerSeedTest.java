package dev.pgreclaim.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.pgreclaim.jdbc.HeldSessions.State;
import dev.pgreclaim.testkit.PostgresServer;
import dev.pgreclaim.testkit.PostgresTest;
import dev.pgreclaim.testkit.TestDatabase;
import dev.pgreclaim.testkit.TestDatabase.Seed;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
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

  /**
   * Opens under one policy share one reclaimer: with a budget of one termination, the second refused open (another
   * idle session is there to take) is handed back with the budget spent, and that session lives.
   */
  @Test
  void opensUnderOnePolicyShareOneReclaimerAndItsBudget(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, 2); HeldSessions held = new HeldSessions(server);
        LogCapture log = LogCapture.start()) {
      int first = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "forgotten-psql");
      int second = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "forgotten-psql");
      held.awaitIdleFor(300, first, second);
      String url = WrapperSetup.terminatingUrl(seed) + "&pgreclaim.budget=1/1m";

      Connection connection = DriverManager.getConnection(url, WrapperSetup.login(seed));
      held.keep(connection);
      // busy, not a spare session of this application (which would make the next refusal "not starving")
      connection.setAutoCommit(false);
      connection.createStatement().execute("select 1");
      SQLException refused = assertThrows(SQLException.class,
          () -> DriverManager.getConnection(url, WrapperSetup.login(seed)));

      assertThat(refused.getSQLState()).isEqualTo("53300");
      assertThat(refused.getSuppressed()).singleElement().extracting(Throwable::getMessage).asString()
          .contains("gave up: budget-exhausted");
      assertThat(held.alive(first) && held.alive(second)).as("exactly one of them terminated").isFalse();
      assertThat(held.alive(first) || held.alive(second)).as("exactly one of them terminated").isTrue();
      assertThat(log.count("pg-reclaim AUDIT")).isEqualTo(1);
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
