package dev.pgreclaim.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgreclaim.testkit.ForkedJvm;
import dev.pgreclaim.testkit.IdleHolder;
import dev.pgreclaim.testkit.IdleHolder.HoldState;
import dev.pgreclaim.testkit.PostgresServer;
import dev.pgreclaim.testkit.PostgresTest;
import dev.pgreclaim.testkit.TestDatabase;
import dev.pgreclaim.testkit.TestDatabase.Seed;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import org.junit.jupiter.api.Test;

/**
 * The seed scenario, end to end: role with connection limit 1, its only slot held idle by another process, an
 * application JVM started with {@code -javaagent:} opens a connection.
 */
@PostgresTest
class SeedScenarioIT {

  @Test
  void terminatesTheIdleHolderAndTheAppGetsItsConnection(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, 1);
        IdleHolder holder = IdleHolder.start(seed.url(), seed.role(), seed.rolePassword(), HoldState.IDLE,
            "forgotten-psql")) {
      IdleHolder.awaitSettled(server, 300, holder);

      ForkedJvm.Result result = AgentRun.app().terminating(seed).run(seed.url(), seed.role());
      System.out.println(result);

      assertThat(result.stdout()).as(result.toString()).contains("CONNECTED backend_pid=");
      assertThat(result.exitCode()).isZero();
      assertThat(result.stderr())
          .contains("pg-reclaim AUDIT terminated pid=" + holder.backendPid() + " role=" + seed.role())
          .contains("application_name='forgotten-psql'")
          .contains("53300 InitializeSessionUserId");
      assertThat(sessionExists(seed, holder.backendPid())).isFalse();
      assertThat(result.stdout() + result.stderr()).doesNotContain(seed.adminPassword());
    }
  }

  @Test
  void idleInTransactionHolderIsSparedAndTheAppGetsTheOriginal53300(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, 1);
        IdleHolder holder = IdleHolder.start(seed.url(), seed.role(), seed.rolePassword(),
            HoldState.IDLE_IN_TRANSACTION, "stuck-job")) {
      IdleHolder.awaitSettled(server, 300, holder);

      ForkedJvm.Result result = AgentRun.app().terminating(seed).run(seed.url(), seed.role());
      System.out.println(result);

      assertThat(result.exitCode()).as(result.toString()).isEqualTo(1);
      assertThat(result.stdout())
          .contains("FAILED sqlstate=53300 class=org.postgresql.util.PSQLException")
          .contains("SUPPRESSED java.sql.SQLException: pg-reclaim:")
          .contains("gave up: no-victim");
      assertThat(result.stderr()).doesNotContain("AUDIT");
      assertThat(sessionExists(seed, holder.backendPid())).isTrue();
      assertThat(result.stdout() + result.stderr()).doesNotContain(seed.adminPassword());
    }
  }

  @Test
  void observeModeNamesTheWouldBeVictimAndKillsNothing(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, 1);
        IdleHolder holder = IdleHolder.start(seed.url(), seed.role(), seed.rolePassword(), HoldState.IDLE,
            "forgotten-psql")) {
      IdleHolder.awaitSettled(server, 300, holder);

      ForkedJvm.Result result = AgentRun.app().terminating(seed).property("pgreclaim.mode", "observe")
          .run(seed.url(), seed.role());

      assertThat(result.exitCode()).as(result.toString()).isEqualTo(1);
      assertThat(result.stdout()).contains("FAILED sqlstate=53300");
      assertThat(result.stderr())
          .contains("observe: role limit (53300 InitializeSessionUserId)")
          .contains("would terminate pid=" + holder.backendPid())
          .doesNotContain("AUDIT");
      assertThat(sessionExists(seed, holder.backendPid())).isTrue();
    }
  }

  static boolean sessionExists(Seed seed, int pid) throws SQLException {
    try (Connection admin = seed.server().connectAsSuperuser("postgres");
        PreparedStatement statement = admin.prepareStatement("select count(*) from pg_stat_activity where pid = ?")) {
      statement.setInt(1, pid);
      try (ResultSet rows = statement.executeQuery()) {
        rows.next();
        return rows.getInt(1) > 0;
      }
    }
  }
}
