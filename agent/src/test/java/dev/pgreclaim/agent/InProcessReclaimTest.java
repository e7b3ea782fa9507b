package dev.pgreclaim.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.pgreclaim.testkit.HeldSessions;
import dev.pgreclaim.testkit.IdleHolder.HoldState;
import dev.pgreclaim.testkit.IdleHolder;
import dev.pgreclaim.testkit.PostgresServer;
import dev.pgreclaim.testkit.PostgresTest;
import dev.pgreclaim.testkit.TestDatabase.Seed;
import dev.pgreclaim.testkit.TestDatabase;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;

/** The real weave, advice, bridge and reclaim code in this JVM, against a real server. */
@PostgresTest
@org.junit.jupiter.api.Timeout(value = 2, unit = java.util.concurrent.TimeUnit.MINUTES)
class InProcessReclaimTest {

  static Map<String, String> terminate(Seed seed) {
    return Map.of("pgreclaim.mode", "terminate", "pgreclaim.admin.user", seed.admin(),
        "pgreclaim.admin.password", seed.adminPassword(), "pgreclaim.min-idle", "100ms");
  }

  static Properties login(Seed seed) {
    Properties properties = new Properties();
    properties.setProperty("user", seed.role());
    properties.setProperty("password", seed.rolePassword());
    return properties;
  }

  static int backendPid(Connection connection) throws SQLException {
    try (Statement statement = connection.createStatement();
        ResultSet rows = statement.executeQuery("select pg_backend_pid()")) {
      rows.next();
      return rows.getInt(1);
    }
  }

  @Test
  void wovenDriverRecoversARefusedOpenWarmAndRepeatedly(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, 1); WovenDriver woven = WovenDriver.install(terminate(seed));
        HeldSessions sessions = new HeldSessions(server)) {
      for (int round = 1; round <= 3; round++) {
        try (IdleHolder holder = IdleHolder.start(seed.url(), seed.role(), seed.rolePassword(), HoldState.IDLE,
            "holder-" + round)) {
          sessions.awaitIdleFor(150, holder.backendPid());
          try (Connection connection = woven.driver().connect(seed.url(), login(seed))) {
            assertThat(backendPid(connection)).isNotEqualTo(holder.backendPid());
          }
          assertThat(sessions.gone(holder.backendPid())).as("the holder's session was the victim").isTrue();
          assertThat(woven.metrics().terminations()).isEqualTo(round);
          assertThat(woven.metrics().recoveries()).isEqualTo(round);
        }
      }
    }
  }

  @Test
  void whenNothingIsEligibleTheCallerGetsTheDriversOwnExceptionWithWhatWasTried(PostgresServer server)
      throws Exception {
    try (Seed seed = TestDatabase.seed(server, 1); WovenDriver woven = WovenDriver.install(terminate(seed));
        IdleHolder holder = IdleHolder.start(seed.url(), seed.role(), seed.rolePassword(), HoldState.ACTIVE,
            "busy-job");
        HeldSessions sessions = new HeldSessions(server)) {
      awaitActive(sessions, holder.backendPid());
      SQLException refused = catchThrowableOfType(SQLException.class,
          () -> woven.driver().connect(seed.url(), login(seed)));
      assertThat((Throwable) refused).as("the very object the woven body threw").isSameAs(woven.appFailures().get(0));
      assertThat(refused.getClass().getName()).isEqualTo("org.postgresql.util.PSQLException");
      assertThat(refused.getSQLState()).isEqualTo("53300");
      assertThat(refused.getSuppressed()).hasSize(1);
      assertThat(refused.getSuppressed()[0].getMessage()).contains("gave up: no-victim").contains("1 active");
      assertThat(woven.metrics().terminations()).isZero();
      assertThat(sessions.stateOf(holder.backendPid())).as("the busy session is still there, still busy")
          .isEqualTo("active");
    }
  }

  static void awaitActive(HeldSessions sessions, int pid) throws Exception {
    long until = System.nanoTime() + 10_000_000_000L;
    while (!"active".equals(sessions.stateOf(pid)) && System.nanoTime() < until) {
      Thread.sleep(10);
    }
    assertThat(sessions.stateOf(pid)).isEqualTo("active");
  }

  @Test
  void otherFailuresPassThroughUntouched(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, 1); WovenDriver woven = WovenDriver.install(terminate(seed))) {
      Properties wrongPassword = login(seed);
      wrongPassword.setProperty("password", "wrong");
      SQLException refused = catchThrowableOfType(SQLException.class,
          () -> woven.driver().connect(seed.url(), wrongPassword));
      assertThat(refused.getSQLState()).isEqualTo("28P01");
      assertThat((Throwable) refused).isSameAs(woven.appFailures().get(0));
      assertThat(refused.getSuppressed()).isEmpty();
      assertThat(woven.metrics().refusalsTotal()).isZero();
    }
  }
}
