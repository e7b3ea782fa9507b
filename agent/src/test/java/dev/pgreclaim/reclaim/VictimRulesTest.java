package dev.pgreclaim.reclaim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.pgreclaim.agent.EntryKind;
import dev.pgreclaim.metrics.FailureCause;
import dev.pgreclaim.policy.VictimRules;
import dev.pgreclaim.testkit.HeldSessions.State;
import dev.pgreclaim.testkit.HeldSessions;
import dev.pgreclaim.testkit.LogCapture;
import dev.pgreclaim.testkit.PostgresServer;
import dev.pgreclaim.testkit.PostgresTest;
import dev.pgreclaim.testkit.TestDatabase.Seed;
import dev.pgreclaim.testkit.TestDatabase;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Never the wrong victim: each rule of {@link VictimQuery} against sessions really in that state. The cases that open
 * through pg-reclaim run through every entry point (the agent's woven driver and the wrapper driver), unchanged.
 */
@PostgresTest
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class VictimRulesTest {

  @ParameterizedTest(name = "through the {0}")
  @MethodSource("dev.pgreclaim.agent.EntryKind#all")
  void onlyTheIdleUnprotectedSessionIsTerminatedAndEveryOtherStateSurvives(EntryKind entry, PostgresServer server)
      throws Exception {
    try (Seed seed = TestDatabase.seed(server, 8); HeldSessions held = new HeldSessions(server);
        LogCapture log = LogCapture.start()) {
      String url = seed.url();
      int victim = held.hold(url, seed.role(), seed.rolePassword(), State.IDLE, "batch-worker");
      int active = held.hold(url, seed.role(), seed.rolePassword(), State.ACTIVE, "reporting");
      int inTransaction = held.hold(url, seed.role(), seed.rolePassword(), State.IDLE_IN_TRANSACTION, "job");
      int aborted = held.hold(url, seed.role(), seed.rolePassword(), State.IDLE_IN_TRANSACTION_ABORTED, "job");
      int advisory = held.hold(url, seed.role(), seed.rolePassword(), State.ADVISORY_LOCK, "leader");
      int protectedApp = held.hold(url, seed.role(), seed.rolePassword(), State.IDLE, "flyway-migrate");
      int adminNamed = held.hold(url, seed.role(), seed.rolePassword(), State.IDLE,
          VictimQuery.ADMIN_APPLICATION_NAME);
      held.awaitIdleFor(3100, victim, protectedApp, adminNamed);

      // min-idle 3s: the session opened now, and the connection handed out below, stay too young for this test
      try (AdviceLoop agent = AdviceLoop.terminating(entry, seed.admin(), seed.adminPassword(),
          Map.of("pgreclaim.min-idle", "3s", "pgreclaim.protect.application-names", "flyway-*,liquibase"))) {
        int fresh = held.hold(url, seed.role(), seed.rolePassword(), State.IDLE, "just-opened");
        List<Integer> spared = List.of(active, inTransaction, aborted, advisory, protectedApp, adminNamed, fresh);
        Connection recovered = agent.open(url, seed.role(), seed.rolePassword());
        held.keep(recovered);
        // The recovered connection stays in a transaction: an idle one would be this application's own spare session,
        // and the second open below would be refused as not starving instead of for want of a victim.
        recovered.setAutoCommit(false);
        recovered.createStatement().execute("select 1");

        assertThat(held.gone(victim)).as("the idle, unprotected, long-idle session is terminated").isTrue();
        for (int pid : spared) {
          assertThat(held.alive(pid)).as("pid %d must survive", pid).isTrue();
        }
        assertThat(agent.metrics.terminations()).isEqualTo(1);
        assertThat(log.text()).contains("AUDIT terminated pid=" + victim + " role=" + seed.role())
            .contains("application_name='batch-worker'");

        // The limit is full again and nothing is eligible: the caller gets the 53300, nobody is terminated.
        SQLException refused = assertThrows(SQLException.class,
            () -> agent.open(url, seed.role(), seed.rolePassword()));
        assertThat(refused.getSQLState()).isEqualTo("53300");
        assertThat(refused.getSuppressed()).hasSize(1);
        assertThat(refused.getSuppressed()[0].getMessage()).contains("gave up: no-victim")
            .contains("8 session(s)");
        assertThat(agent.metrics.failures(FailureCause.NO_VICTIM)).isEqualTo(1);
        for (int pid : spared) {
          assertThat(held.alive(pid)).as("pid %d must survive", pid).isTrue();
        }
        assertThat(agent.metrics.terminations()).isEqualTo(1);
      }
    }
  }

  /**
   * Another ordinary role's idle session is the longest-idle session of the database, eligible by every other rule:
   * it is never picked for the refused role, neither to let the open in nor once the role has nothing eligible left.
   */
  @ParameterizedTest(name = "through the {0}")
  @MethodSource("dev.pgreclaim.agent.EntryKind#all")
  void anotherOrdinaryRolesIdleSessionIsNeverTheVictim(EntryKind entry, PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, 2); HeldSessions held = new HeldSessions(server)) {
      String otherRole = seed.role() + "_other";
      server.execute("postgres", "create role " + otherRole + " login password '" + seed.rolePassword() + "'");
      try {
        String url = seed.url();
        int otherIdle = held.hold(url, otherRole, seed.rolePassword(), State.IDLE, "batch-worker");
        int ownIdle = held.hold(url, seed.role(), seed.rolePassword(), State.IDLE, "batch-worker");
        int ownActive = held.hold(url, seed.role(), seed.rolePassword(), State.ACTIVE, "reporting");
        held.awaitIdleFor(2100, otherIdle, ownIdle);

        // min-idle longer than this test: the connection handed out below never becomes a victim
        try (LogCapture log = LogCapture.start(); AdviceLoop agent = AdviceLoop.terminating(entry, seed.admin(),
            seed.adminPassword(), Map.of("pgreclaim.min-idle", "2s"))) {
          held.keep(agent.open(url, seed.role(), seed.rolePassword()));
          assertThat(held.gone(ownIdle)).as("the refused role's own idle session").isTrue();
          assertThat(held.alive(otherIdle)).as("the other role's longer-idle session").isTrue();
          assertThat(agent.metrics.terminations()).isEqualTo(1);
          assertThat(log.text()).contains("AUDIT terminated pid=" + ownIdle + " role=" + seed.role())
              .doesNotContain("role=" + otherRole);

          // nothing of the role's own is eligible now (active, and the connection just handed out)
          SQLException refused = assertThrows(SQLException.class,
              () -> agent.open(url, seed.role(), seed.rolePassword()));
          assertThat(refused.getSuppressed()[0].getMessage()).contains("gave up: no-victim");
          assertThat(held.alive(otherIdle)).isTrue();
          assertThat(held.alive(ownActive)).isTrue();
          assertThat(agent.metrics.terminations()).isEqualTo(1);
        }
      } finally {
        held.close();
        server.execute("postgres", "select pg_terminate_backend(pid) from pg_stat_activity where usename = '"
            + otherRole + "'");
        server.awaitNoSessionsOf(otherRole, 10_000);
        server.execute("postgres", "drop role if exists " + otherRole);
      }
    }
  }

  @Test
  @SuppressWarnings("try") // the held sessions are closed early on purpose: the role is dropped right after
  void aSuperusersSessionIsNeverAVictim(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, -1); HeldSessions held = new HeldSessions(server)) {
      String superRole = seed.role() + "_su";
      server.execute("postgres", "create role " + superRole + " superuser login password '" + seed.rolePassword()
          + "'");
      try {
        int superIdle = held.hold(seed.url(), superRole, seed.rolePassword(), State.IDLE, "psql");
        int plainIdle = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "psql");
        held.awaitIdleFor(50, superIdle, plainIdle);
        try (Connection admin = seed.connectAsAdmin()) {
          VictimRules anyIdle = new VictimRules(0, List.of(), List.of(), List.of());
          assertThat(VictimQuery.candidates(admin, VictimScope.role(superRole), anyIdle, 10)).isEmpty();
          assertThat(VictimQuery.terminateOne(admin, VictimScope.role(superRole), anyIdle)).isNull();
          // the same query does find an ordinary role's idle session: the rule, not a broken query, spared it
          assertThat(VictimQuery.candidates(admin, VictimScope.role(seed.role()), anyIdle, 10))
              .extracting(Victim::pid).containsExactly(plainIdle);
        }
        assertThat(held.alive(superIdle)).isTrue();
      } finally {
        held.close();
        server.execute("postgres", "select pg_terminate_backend(pid) from pg_stat_activity where usename = '"
            + superRole + "'");
        server.awaitNoSessionsOf(superRole, 10_000);
        server.execute("postgres", "drop role if exists " + superRole);
      }
    }
  }

  @Test
  void aNonClientBackendOfTheRoleIsNeverAVictimEvenWhenIdle(PostgresServer server) throws Exception {
    // A logical-replication connection is served by a walsender: same role, state 'idle', but not a client backend.
    try (Seed seed = TestDatabase.seed(server, -1); HeldSessions held = new HeldSessions(server)) {
      server.execute("postgres", "alter role " + seed.role() + " replication");
      java.util.Properties replication = new java.util.Properties();
      replication.setProperty("user", seed.role());
      replication.setProperty("password", seed.rolePassword());
      replication.setProperty("replication", "database");
      replication.setProperty("assumeMinServerVersion", "9.4");
      replication.setProperty("preferQueryMode", "simple");
      replication.setProperty("ApplicationName", "cdc-walsender");
      try (Connection walsender = java.sql.DriverManager.getConnection(seed.url(), replication);
          Connection admin = seed.connectAsAdmin()) {
        int plainIdle = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "web");
        held.awaitIdleFor(50, plainIdle);
        int walsenderPid;
        try (java.sql.Statement statement = admin.createStatement();
            java.sql.ResultSet rows = statement.executeQuery("select pid, backend_type, state from pg_stat_activity"
                + " where application_name = 'cdc-walsender'")) {
          assertThat(rows.next()).isTrue();
          walsenderPid = rows.getInt("pid");
          assertThat(rows.getString("backend_type")).isEqualTo("walsender");
          assertThat(rows.getString("state")).isEqualTo("idle");
        }
        VictimRules anyIdle = new VictimRules(0, List.of(), List.of(), List.of());
        VictimScope scope = VictimScope.role(seed.role());
        assertThat(VictimQuery.candidates(admin, scope, anyIdle, 10)).extracting(Victim::pid)
            .containsExactly(plainIdle);
        assertThat(VictimQuery.terminateOne(admin, scope, anyIdle).pid()).isEqualTo(plainIdle);
        assertThat(held.gone(plainIdle)).isTrue();
        assertThat(VictimQuery.terminateOne(admin, scope, anyIdle)).isNull();
        assertThat(VictimQuery.stillThere(admin, walsenderPid)).isTrue();
        assertThat(walsender.isValid(2)).isTrue();
      }
    }
  }

  @ParameterizedTest(name = "through the {0}")
  @MethodSource("dev.pgreclaim.agent.EntryKind#all")
  void protectListsByUserAndDatabaseSpareTheirSessions(EntryKind entry, PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, -1); HeldSessions held = new HeldSessions(server)) {
      int idle = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "web");
      held.awaitIdleFor(50, idle);
      try (Connection admin = seed.connectAsAdmin()) {
        VictimScope scope = VictimScope.role(seed.role());
        assertThat(VictimQuery.candidates(admin, scope, new VictimRules(0, List.of(), List.of(), List.of()), 5))
            .extracting(Victim::pid).containsExactly(idle);
        assertThat(VictimQuery.candidates(admin, scope,
            new VictimRules(0, List.of(), List.of("app_*"), List.of()), 5)).isEmpty();
        assertThat(VictimQuery.candidates(admin, scope,
            new VictimRules(0, List.of(), List.of(), List.of(seed.database())), 5)).isEmpty();
        assertThat(VictimQuery.candidates(admin, scope,
            new VictimRules(0, List.of("w?b"), List.of(), List.of()), 5)).isEmpty();
        // LIKE metacharacters in a pattern are literal: '%' does not protect everything
        assertThat(VictimQuery.candidates(admin, scope,
            new VictimRules(0, List.of("%"), List.of("_%"), List.of("%")), 5)).extracting(Victim::pid)
            .containsExactly(idle);
      }
      // the agent does not act at all for a protected role
      try (AdviceLoop agent = AdviceLoop.terminating(entry, seed.admin(), seed.adminPassword(),
          Map.of("pgreclaim.protect.users", seed.role()))) {
        server.execute("postgres", "alter role " + seed.role() + " connection limit 1");
        SQLException refused = assertThrows(SQLException.class,
            () -> agent.open(seed.url(), seed.role(), seed.rolePassword()));
        assertThat(refused.getSQLState()).isEqualTo("53300");
        assertThat(agent.metrics.reclaimsAttempted()).isZero();
        assertThat(held.alive(idle)).isTrue();
      }
    }
  }
}
