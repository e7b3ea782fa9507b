package dev.pgreclaim.reclaim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.pgreclaim.policy.LimitKind;
import dev.pgreclaim.policy.VictimRules;
import dev.pgreclaim.testkit.PostgresServer;
import dev.pgreclaim.testkit.PostgresTest;
import dev.pgreclaim.testkit.TestDatabase;
import dev.pgreclaim.testkit.TestDatabase.Seed;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Properties;
import org.junit.jupiter.api.Test;

/**
 * Each answer of {@link ServerMajor} against the server the suite runs on: run on every major by {@code .ci/majors},
 * so a wrong version boundary fails on the major where it is wrong.
 */
@PostgresTest
class ServerMajorTest {

  @Test
  void theMajorIsTheServersAndEveryCatalogAnswerMatchesIt(PostgresServer server) throws Exception {
    try (Connection c = server.connectAsSuperuser("postgres")) {
      ServerMajor major = ServerMajor.of(c);
      assertThat(major.major()).isEqualTo(server.majorVersion())
          .isBetween(ServerMajor.OLDEST_TESTED, ServerMajor.NEWEST_TESTED);
      assertThat(count(c, "select count(*) from pg_catalog.pg_proc where proname = 'pg_terminate_backend'"
          + " and pronargs = 2") > 0).as("pg_terminate_backend(pid, timeout)")
          .isEqualTo(major.terminateCanWaitForExit());
      assertThat(count(c, "select count(*) from pg_catalog.pg_roles where rolname = '"
          + ServerMajor.RESERVED_CONNECTIONS_ROLE + "'") > 0).as("role pg_use_reserved_connections")
          .isEqualTo(major.hasReservedConnectionsRole());
      assertThat(count(c, "select count(*) from pg_catalog.pg_settings where name = 'reserved_connections'") > 0)
          .as("setting reserved_connections").isEqualTo(major.hasReservedConnectionsRole());
      assertThat(count(c, "select count(*) from pg_catalog.pg_attribute where attrelid ="
          + " 'pg_catalog.pg_stat_activity'::pg_catalog.regclass and attname = 'leader_pid'") > 0)
          .as("pg_stat_activity.leader_pid").isEqualTo(major.hasLeaderPid());
      assertThat(count(c, "select count(*) from pg_catalog.pg_settings where name = 'idle_session_timeout'") > 0)
          .as("setting idle_session_timeout").isEqualTo(major.hasIdleSessionTimeout());
      // what the reclaim path relies on everywhere
      assertThat(count(c, "select count(*) from pg_catalog.pg_roles where rolname in ('pg_signal_backend',"
          + " 'pg_read_all_stats')")).isEqualTo(2);
      assertThat(count(c, "select count(*) from pg_catalog.pg_attribute where attrelid ="
          + " 'pg_catalog.pg_stat_activity'::pg_catalog.regclass and attname in ('backend_type', 'state',"
          + " 'state_change', 'usename', 'datname', 'application_name', 'client_addr', 'client_port')"))
          .isEqualTo(8);
    }
  }

  /**
   * A walsender of the role is never a victim, whether or not this release counts it toward the role's limit (18
   * does not; older majors did, and their recent minors stopped: see {@link ServerMajor}).
   */
  @Test
  void aWalSenderIsNeverAVictimWhetherOrNotItCountsTowardTheRoleLimit(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, 1)) {
      server.execute("postgres", "alter role " + seed.role() + " replication");
      int major = server.majorVersion();
      Properties replication = new Properties();
      replication.setProperty("user", seed.role());
      replication.setProperty("password", seed.rolePassword());
      replication.setProperty("replication", "database");
      replication.setProperty("assumeMinServerVersion", "9.4");
      replication.setProperty("preferQueryMode", "simple");
      replication.setProperty("connectTimeout", "10");
      try (Connection walSender = DriverManager.getConnection(seed.url(), replication)) {
        assertThat(count(server, "select count(*) from pg_catalog.pg_stat_activity where usename = '" + seed.role()
            + "' and backend_type = 'walsender'")).isEqualTo(1);
        try (Connection admin = seed.connectAsAdmin()) {
          VictimRules anyIdle = new VictimRules(0, List.of(), List.of(), List.of());
          assertThat(VictimQuery.candidates(admin, VictimScope.role(seed.role()), anyIdle, 5))
              .as("a walsender is never a victim").isEmpty();
        }
        boolean counted;
        try {
          seed.connectAsRole().close();
          counted = false;
        } catch (SQLException refused) {
          assertThat(refused.getSQLState()).isEqualTo("53300");
          assertThat(Refusal.classify(refused).kind()).isEqualTo(LimitKind.ROLE);
          counted = true;
        }
        System.out.printf("[server-major] %s: a walsender %s toward the role's connection limit%n",
            version(server), counted ? "counts" : "does not count");
        if (major >= 18) {
          assertThat(counted).as("18 counts only regular backends").isFalse();
        }
        assertThat(walSender.isClosed()).isFalse();
      }
    }
  }

  private static String version(PostgresServer server) throws SQLException {
    try (Connection c = server.connectAsSuperuser("postgres"); Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("show server_version")) {
      rs.next();
      return rs.getString(1);
    }
  }

  private static int count(PostgresServer server, String sql) throws SQLException {
    try (Connection c = server.connectAsSuperuser("postgres")) {
      return count(c, sql);
    }
  }

  private static int count(Connection c, String sql) throws SQLException {
    try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
      rs.next();
      return rs.getInt(1);
    }
  }
}
