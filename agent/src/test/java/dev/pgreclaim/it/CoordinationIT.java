package dev.pgreclaim.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgreclaim.testkit.ForkedJvm;
import dev.pgreclaim.testkit.HeldSessions;
import dev.pgreclaim.testkit.PostgresServer;
import dev.pgreclaim.testkit.PostgresTest;
import dev.pgreclaim.testkit.TestDatabase.Seed;
import dev.pgreclaim.testkit.TestDatabase;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Cross-JVM coordination does not depend on which database the refused opens (and so the admin sessions) name
 * (issue 11, point 6): advisory locks are per database, so the derived admin sessions all log in to one fixed
 * database.
 */
@PostgresTest
@Timeout(120)
class CoordinationIT {

  /**
   * One role limited to one session, held by an idle victim; three JVMs open three different databases as that role
   * at the same instant. Each is refused; exactly one termination happens, and exactly one JVM gets the slot. The
   * victim holds many temp tables, so it takes a while to exit after the signal: JVMs that did not exclude each other
   * would each see it still there, still "idle", and signal (and count) it again.
   */
  @Test
  void threeJvmsOpeningThreeDatabasesOverOneIdleVictimTerminateExactlyOnce(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, 1); HeldSessions held = new HeldSessions(server)) {
      List<String> databases = new ArrayList<>();
      for (int i = 1; i <= 3; i++) {
        String database = seed.database() + "_" + i;
        server.execute("postgres", "create database " + database + " owner " + seed.role());
        databases.add(database);
      }
      try {
        int victim = slowExitingVictim(seed, held);
        long startAt = System.currentTimeMillis() + 5000;
        List<ForkedJvm.Handle> jvms = new ArrayList<>();
        for (String database : databases) {
          jvms.add(AgentRun.app().terminating(seed).mainClass(RacingConnectApp.class.getName())
              .property("pgreclaim.min-idle", "1s").property("pgreclaim.deadline", "2s")
              .builder(String.valueOf(startAt), "3000", server.jdbcUrl(database), seed.role()).start());
        }
        int audits = 0;
        int connected = 0;
        int refused = 0;
        Pattern audit = Pattern.compile("AUDIT terminated pid=(\\d+)");
        for (ForkedJvm.Handle jvm : jvms) {
          ForkedJvm.Result result = jvm.waitFor(Duration.ofSeconds(60));
          Matcher matcher = audit.matcher(result.stderr());
          while (matcher.find()) {
            audits++;
            assertThat(matcher.group(1)).as(result.toString()).isEqualTo(String.valueOf(victim));
          }
          if (result.stdout().contains("CONNECTED")) {
            connected++;
          } else {
            assertThat(result.stdout()).as(result.toString()).contains("FAILED sqlstate=53300 suppressed=1");
            refused++;
          }
        }
        assertThat(audits).as("terminations across the three JVMs").isEqualTo(1);
        // the victim is slow to exit by design: the JVM that terminated it gets in only if it exits within that JVM's
        // retry window, so at most one connects, and every other JVM got its 53300
        assertThat(connected).isLessThanOrEqualTo(1);
        assertThat(connected + refused).isEqualTo(3);
        assertThat(goneWithin(server, victim, Duration.ofSeconds(30))).isTrue();
      } finally {
        for (String database : databases) {
          server.execute("postgres", "drop database if exists " + database + " with (force)");
        }
      }
    }
  }

  /** An idle session of the role that holds 2000 temp tables (dropping them makes its exit take a while). */
  static int slowExitingVictim(Seed seed, HeldSessions held) throws Exception {
    Properties info = new Properties();
    info.setProperty("user", seed.role());
    info.setProperty("password", seed.rolePassword());
    info.setProperty("ApplicationName", "slow-exiting-victim");
    Connection connection = DriverManager.getConnection(seed.url(), info);
    held.keep(connection);
    try (Statement statement = connection.createStatement()) {
      statement.execute("do $$ begin for i in 1..2000 loop execute format('create temp table t%s (x int)', i);"
          + " end loop; end $$");
      try (ResultSet rows = statement.executeQuery("select pg_backend_pid()")) {
        rows.next();
        return rows.getInt(1);
      }
    }
  }

  static boolean goneWithin(PostgresServer server, int pid, Duration bound) throws Exception {
    long until = System.nanoTime() + bound.toNanos();
    try (Connection superuser = server.connectAsSuperuser("postgres");
        PreparedStatement statement =
            superuser.prepareStatement("select count(*) from pg_stat_activity where pid = ?")) {
      statement.setInt(1, pid);
      while (System.nanoTime() < until) {
        try (ResultSet rows = statement.executeQuery()) {
          rows.next();
          if (rows.getInt(1) == 0) {
            return true;
          }
        }
        Thread.sleep(20);
      }
    }
    return false;
  }
}
