package dev.pgreclaim.reclaim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.pgreclaim.metrics.FailureCause;
import dev.pgreclaim.policy.LimitKind;
import dev.pgreclaim.testkit.HeldSessions.State;
import dev.pgreclaim.testkit.HeldSessions;
import dev.pgreclaim.testkit.LogCapture;
import dev.pgreclaim.testkit.PostgresServer;
import dev.pgreclaim.testkit.PostgresServers;
import dev.pgreclaim.testkit.PostgresTest;
import dev.pgreclaim.testkit.PrivateServer;
import dev.pgreclaim.testkit.TestDatabase.Seed;
import dev.pgreclaim.testkit.TestDatabase;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The limit kinds other than the role's: by default only observed; when switched on by {@code pgreclaim.act-on},
 * victims are still only the refused role's own idle sessions (in the refused database for the database limit), and
 * for reserved / server the admin connection needs a slot of its own.
 */
@PostgresTest
@org.junit.jupiter.api.Timeout(value = 3, unit = java.util.concurrent.TimeUnit.MINUTES)
class LimitKindsTest {

  @Test
  @SuppressWarnings("try") // the held sessions are closed early on purpose: the database is dropped right after
  void databaseLimitIsObservedByDefaultAndWhenEnabledTakesTheVictimFromThatDatabase(PostgresServer server)
      throws Exception {
    try (Seed seed = TestDatabase.seed(server, -1); HeldSessions held = new HeldSessions(server)) {
      String limited = seed.database() + "_lim";
      server.execute("postgres", "create database " + limited + " owner " + seed.role() + " connection limit 1");
      try {
        String limitedUrl = server.jdbcUrl(limited);
        // Older idle session in another database: longest idle, but it would not free a slot in `limited`.
        int elsewhere = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "other-db");
        held.awaitIdleFor(300, elsewhere);
        int inLimited = held.hold(limitedUrl, seed.role(), seed.rolePassword(), State.IDLE, "limited-db");
        held.awaitIdleFor(300, inLimited);

        try (LogCapture log = LogCapture.start();
            AdviceLoop agent = AdviceLoop.terminating(seed.admin(), seed.adminPassword(), Map.of())) {
          SQLException refused = assertThrows(SQLException.class,
              () -> agent.open(limitedUrl, seed.role(), seed.rolePassword()));
          assertThat(refused.getSQLState()).isEqualTo("53300");
          assertThat(refused.getSuppressed()).as("observed only: nothing attempted").isEmpty();
          assertThat(agent.metrics.refusals(LimitKind.DATABASE)).isEqualTo(1);
          assertThat(agent.metrics.reclaimsAttempted()).isZero();
          assertThat(log.text()).contains("database limit (53300 CheckMyDatabase)")
              .contains("kind database not in pgreclaim.act-on")
              .contains("would terminate pid=" + inLimited);
        }
        assertThat(held.alive(inLimited)).isTrue();

        try (AdviceLoop agent = AdviceLoop.terminating(seed.admin(), seed.adminPassword(),
            Map.of("pgreclaim.act-on", "role,database"))) {
          held.keep(agent.open(limitedUrl, seed.role(), seed.rolePassword()));
          assertThat(held.gone(inLimited)).isTrue();
          assertThat(held.alive(elsewhere)).as("the longer-idle session in another database is spared").isTrue();
          assertThat(agent.metrics.terminations()).isEqualTo(1);
        }
      } finally {
        held.close();
        server.dropDatabase(limited);
      }
    }
  }

  /** max_connections 5, 2 reserved: non-superusers get 3 slots, then 53300 from InitPostgres. */
  @Test
  void reservedSlotsNeedASuperuserAdmin() throws Exception {
    try (PostgresServer server = PrivateServer.start(
        Map.of("max_connections", "5", "superuser_reserved_connections", "2"));
        Seed seed = TestDatabase.seed(server, -1); HeldSessions held = new HeldSessions(server)) {
      int first = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "pool-1");
      int second = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "pool-2");
      int third = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "pool-3");
      held.awaitIdleFor(300, first, second, third);

      // default act-on=role: observed only, the original 53300, nothing attempted
      try (AdviceLoop agent = AdviceLoop.terminating(seed.admin(), seed.adminPassword(), Map.of())) {
        SQLException refused = assertThrows(SQLException.class,
            () -> agent.open(seed.url(), seed.role(), seed.rolePassword()));
        assertThat(refused.getSQLState()).isEqualTo("53300");
        assertThat(Refusal.classify(refused).kind()).isEqualTo(LimitKind.RESERVED);
        assertThat(refused.getSuppressed()).isEmpty();
      }

      // enabled, least-privilege admin: its own login is refused by the same reserved-slot rule; it says so
      try (LogCapture log = LogCapture.start(); AdviceLoop agent = AdviceLoop.terminating(seed.admin(),
          seed.adminPassword(), Map.of("pgreclaim.act-on", "reserved"))) {
        SQLException refused = assertThrows(SQLException.class,
            () -> agent.open(seed.url(), seed.role(), seed.rolePassword()));
        assertThat(refused.getSQLState()).isEqualTo("53300");
        assertThat(refused.getSuppressed()[0].getMessage()).contains("gave up: admin-unavailable")
            .contains("must be a superuser");
        assertThat(agent.metrics.failures(FailureCause.ADMIN_UNAVAILABLE)).isEqualTo(1);
        assertThat(log.text()).contains("must be a superuser");
      }
      for (int pid : List.of(first, second, third)) {
        assertThat(held.alive(pid)).isTrue();
      }

      // enabled, superuser admin: it logs in on a reserved slot and ends one of the role's own idle sessions
      try (AdviceLoop agent = AdviceLoop.terminating(server.superuser(), server.superuserPassword(),
          Map.of("pgreclaim.act-on", "reserved", "pgreclaim.admin.keep-alive", "0ms"))) {
        held.keep(agent.open(seed.url(), seed.role(), seed.rolePassword()));
        assertThat(held.gone(first)).as("the longest-idle of the role's own sessions").isTrue();
        assertThat(held.alive(second)).isTrue();
        assertThat(held.alive(third)).isTrue();
        assertThat(agent.metrics.terminations()).isEqualTo(1);
      }
    }
  }

  /**
   * 16+: {@code reserved_connections} slots are for members of {@code pg_use_reserved_connections}, so a
   * least-privilege admin given that role logs in on one and ends one of the refused role's own idle sessions. Before
   * 16 there is no such role (a superuser admin is the only way: {@link #reservedSlotsNeedASuperuserAdmin}).
   */
  @Test
  void reservedConnectionsLetAnAdminWithPgUseReservedConnectionsReclaim() throws Exception {
    // the same binaries as the shared server's; before 16 the setting below would stop the server from starting
    Assumptions.assumeTrue(ServerMajor.of(PostgresServers.shared().majorVersion()).hasReservedConnectionsRole(),
        "reserved_connections exists from 16");
    try (PostgresServer server = PrivateServer.start(Map.of("max_connections", "6",
        "superuser_reserved_connections", "1", "reserved_connections", "2"))) {
      try (Seed seed = TestDatabase.seed(server, -1); HeldSessions held = new HeldSessions(server)) {
        server.execute("postgres", "grant " + ServerMajor.RESERVED_CONNECTIONS_ROLE + " to " + seed.admin());
        int first = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "pool-1");
        int second = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "pool-2");
        int third = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "pool-3");
        Thread.sleep(300);
        SQLException refusal = assertThrows(SQLException.class, () -> seed.connectAsRole().close());
        assertThat(Refusal.classify(refusal).kind()).isEqualTo(LimitKind.RESERVED);
        assertThat(refusal.getMessage()).contains("pg_use_reserved_connections");

        try (AdviceLoop agent = AdviceLoop.terminating(seed.admin(), seed.adminPassword(),
            Map.of("pgreclaim.act-on", "reserved", "pgreclaim.admin.keep-alive", "0ms"))) {
          held.keep(agent.open(seed.url(), seed.role(), seed.rolePassword()));
          assertThat(agent.metrics.refusals(LimitKind.RESERVED)).isEqualTo(1);
          assertThat(agent.metrics.terminations()).isEqualTo(1);
        }
        assertThat(held.gone(first)).as("the longest-idle of the role's own sessions").isTrue();
        assertThat(held.alive(second)).isTrue();
        assertThat(held.alive(third)).isTrue();
      }
    }
  }

  /** Every process slot taken: even a superuser admin cannot log in (InitProcess runs before authentication). */
  @Test
  void serverLimitLeavesNoSlotForAColdAdminLogin() throws Exception {
    try (PostgresServer server = PrivateServer.start(
        Map.of("max_connections", "4", "superuser_reserved_connections", "1"));
        Seed seed = TestDatabase.seed(server, -1); HeldSessions held = new HeldSessions(server)) {
      int first = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "pool-1");
      held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "pool-2");
      held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "pool-3");
      held.awaitIdleFor(300, first); // before the last slot is taken: this check logs in too
      Connection superuserSession = server.connectAsSuperuser("postgres");
      held.keep(superuserSession);

      try (LogCapture log = LogCapture.start(); AdviceLoop agent = AdviceLoop.terminating(server.superuser(),
          server.superuserPassword(), Map.of("pgreclaim.act-on", "server,reserved"))) {
        SQLException refused = assertThrows(SQLException.class,
            () -> agent.open(seed.url(), seed.role(), seed.rolePassword()));
        assertThat(refused.getSQLState()).isEqualTo("53300");
        assertThat(Refusal.classify(refused).kind()).isEqualTo(LimitKind.SERVER);
        assertThat(refused.getSuppressed()[0].getMessage()).contains("gave up: admin-unavailable")
            .contains("only an admin session kept open from an earlier reclaim");
        assertThat(agent.metrics.terminations()).isZero();
        assertThat(log.text()).contains("only an admin session kept open from an earlier reclaim");
      }
      superuserSession.close();
      assertThat(onceASlotIsFree(() -> held.alive(first))).isTrue();
    }
  }
  interface Check {
    boolean run() throws Exception;
  }

  /** Runs a check whose superuser login may find no slot until a closed session has exited (bounded). */
  static boolean onceASlotIsFree(Check check) throws Exception {
    long until = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
    while (true) {
      try {
        return check.run();
      } catch (SQLException noSlotYet) {
        if (!"53300".equals(noSlotYet.getSQLState()) || System.nanoTime() > until) {
          throw noSlotYet;
        }
        Thread.sleep(10);
      }
    }
  }

  /**
   * A kept admin session is itself one of the scarce slots: with keep-alive, the retry after the first termination
   * still finds only reserved slots free, so a reserved-kind refusal costs one more termination than with
   * {@code keep-alive=0ms} (compare {@link #reservedSlotsNeedASuperuserAdmin}, which needs one).
   */
  // Two reserved slots, not one: the refused open's backend still holds the slot it was refused on while it exits, and
  // with one reserved slot the admin login right after it was refused by InitProcess under load (seen on 14).
  @Test
  void aKeptSuperuserAdminSessionTakesAReservedSlotAndCostsOneMoreTermination() throws Exception {
    try (PostgresServer server = PrivateServer.start(
        Map.of("max_connections", "5", "superuser_reserved_connections", "2"));
        Seed seed = TestDatabase.seed(server, -1); HeldSessions held = new HeldSessions(server)) {
      int first = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "pool-1");
      int second = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "pool-2");
      int third = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "pool-3");
      held.awaitIdleFor(300, first, second, third);
      try (AdviceLoop agent = AdviceLoop.terminating(server.superuser(), server.superuserPassword(),
          Map.of("pgreclaim.act-on", "reserved,server", "pgreclaim.admin.keep-alive", "1h"))) {
        held.keep(agent.open(seed.url(), seed.role(), seed.rolePassword()));
        assertThat(agent.metrics.refusals(LimitKind.RESERVED)).isEqualTo(1);
        assertThat(agent.metrics.terminations()).isEqualTo(2);
      }
      // the admin session's slot is free again once it has exited
      assertThat(onceASlotIsFree(() -> held.gone(first))).isTrue();
      assertThat(held.gone(second)).isTrue();
      assertThat(held.alive(third)).isTrue();
    }
  }
}
