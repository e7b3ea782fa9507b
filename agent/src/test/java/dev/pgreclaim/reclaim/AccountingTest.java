package dev.pgreclaim.reclaim;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgreclaim.agent.WovenDriver;
import dev.pgreclaim.testkit.HeldSessions;
import dev.pgreclaim.testkit.LogCapture;
import dev.pgreclaim.testkit.PostgresServer;
import dev.pgreclaim.testkit.PostgresTest;
import dev.pgreclaim.testkit.TestDatabase.Seed;
import dev.pgreclaim.testkit.TestDatabase;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Every kill is accounted for, once (issue 11, point 3): a termination whose statement completed is audited, counted
 * and named to the caller even when the admin session fails right after it, and the slowly exiting victim is never
 * picked, counted or audited again.
 */
@PostgresTest
@Timeout(value = 90, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class AccountingTest {

  @Test
  void aTerminationIsAccountedForWhenTheAdminSessionDiesDuringTheExitWait(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, 1); HeldSessions held = new HeldSessions(server);
        WovenDriver woven = WovenDriver.install(Map.of("pgreclaim.mode", "terminate",
            "pgreclaim.admin.user", seed.admin(), "pgreclaim.admin.password", seed.adminPassword(),
            "pgreclaim.min-idle", "100ms", "pgreclaim.deadline", "3s", "pgreclaim.admin.keep-alive", "0ms"));
        LogCapture log = LogCapture.start()) {
      int victim = slowExitingVictim(seed, held, 3000);
      Thread.sleep(200); // min-idle is 100 ms

      // The admin session holds the reclaim lock from before the kill until the victim has left (or 250 ms);
      // a victim that has left ClientRead has been signalled: end the admin session right then.
      CompletableFuture<Integer> adminKiller = CompletableFuture.supplyAsync(() -> killAdminOnceSignalled(server,
          seed.admin(), victim));

      SQLException refused = null;
      try (Connection connection = woven.driver().connect(seed.url(), login(seed))) {
        assertThat(connection.isValid(5)).isTrue();
      } catch (SQLException failure) {
        refused = failure;
      }

      assertThat(adminKiller.get(30, TimeUnit.SECONDS)).as("the admin session was ended during the exit wait")
          .isPositive();
      assertThat(woven.metrics().terminations()).as("terminations counted").isEqualTo(1);
      assertThat(log.count("AUDIT terminated pid=" + victim + " ")).as(log.text()).isEqualTo(1);
      assertThat(log.count("AUDIT terminated")).isEqualTo(1);
      assertThat(log.text()).contains("admin session failed while waiting for the session to exit");
      if (refused != null) {
        // Whatever the end, the caller's suppressed note names the termination.
        assertThat(refused.getSuppressed()[0].getMessage()).contains("terminated pid " + victim);
      }
    }
  }

  static Properties login(Seed seed) {
    Properties info = new Properties();
    info.setProperty("user", seed.role());
    info.setProperty("password", seed.rolePassword());
    return info;
  }

  /** An idle session of the role holding {@code tables} temp tables: dropping them makes its exit take a while. */
  static int slowExitingVictim(Seed seed, HeldSessions held, int tables) throws SQLException {
    Connection connection = DriverManager.getConnection(seed.url(), login(seed));
    held.keep(connection);
    try (Statement statement = connection.createStatement()) {
      statement.execute("do $$ begin for i in 1.." + tables
          + " loop execute format('create temp table t%s (x int)', i); end loop; end $$");
      try (ResultSet rows = statement.executeQuery("select pg_backend_pid()")) {
        rows.next();
        return rows.getInt(1);
      }
    }
  }

  /**
   * Polls (bounded) until the admin session is in its exit wait, then ends it. The victim leaving ClientRead is not
   * enough: the victim may process its signal before the select-and-terminate statement has returned to the agent, and
   * ending the admin session then fails the statement itself (a termination the agent cannot know of).
   */
  static int killAdminOnceSignalled(PostgresServer server, String admin, int victim) {
    long until = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    String exitWait = VictimQuery.STILL_THERE.replace("?", "$1");
    try (Connection superuser = server.connectAsSuperuser("postgres");
        PreparedStatement inExitWait = superuser.prepareStatement("select a.pid from pg_stat_activity a"
            + " where a.usename = ? and a.application_name = 'pg-reclaim-admin' and a.query = ?"
            + " and exists (select 1 from pg_stat_activity v where v.pid = ?"
            + " and coalesce(v.wait_event, '') <> 'ClientRead')");
        PreparedStatement end = superuser.prepareStatement("select pg_terminate_backend(?)")) {
      inExitWait.setString(1, admin);
      inExitWait.setString(2, exitWait);
      inExitWait.setInt(3, victim);
      while (System.nanoTime() < until) {
        try (ResultSet rows = inExitWait.executeQuery()) {
          if (rows.next()) {
            int pid = rows.getInt(1);
            end.setInt(1, pid);
            try (ResultSet ended = end.executeQuery()) {
              return ended.next() && ended.getBoolean(1) ? pid : -1;
            }
          }
        }
      }
      return -1;
    } catch (SQLException failure) {
      throw new IllegalStateException(failure);
    }
  }
}
