package dev.pgreclaim.reclaim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.pgreclaim.agent.WovenDriver;
import dev.pgreclaim.metrics.FailureCause;
import dev.pgreclaim.testkit.HeldSessions.State;
import dev.pgreclaim.testkit.HeldSessions;
import dev.pgreclaim.testkit.PostgresServer;
import dev.pgreclaim.testkit.PrivateServer;
import dev.pgreclaim.testkit.TestDatabase.Seed;
import dev.pgreclaim.testkit.TestDatabase;
import java.sql.SQLException;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** The server restarts or goes away around a reclaim: bounded time, the original 53300, no stale state kept. */
@org.junit.jupiter.api.Timeout(value = 2, unit = java.util.concurrent.TimeUnit.MINUTES)
class ServerRestartTest {

  @Test
  void aKeptAdminSessionKilledByARestartIsReplacedAndTheNextReclaimWorks() throws Exception {
    try (PostgresServer server = PrivateServer.start(Map.of())) {
      Assumptions.assumeTrue(server.canRestart(), "server kind cannot restart");
      Seed seed = TestDatabase.seed(server, 1);
      try (AdviceLoop agent = AdviceLoop.terminating(seed.admin(), seed.adminPassword(),
          Map.of("pgreclaim.admin.keep-alive", "1h", "pgreclaim.deadline", "1s"))) {
        try (HeldSessions held = new HeldSessions(server)) {
          int before = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "before-restart");
          held.awaitIdleFor(300, before);
          held.keep(agent.open(seed.url(), seed.role(), seed.rolePassword()));
          assertThat(held.gone(before)).isTrue();
        }
        server.restart(); // the admin session the agent kept is gone with every other session

        try (HeldSessions held = new HeldSessions(server)) {
          int after = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "after-restart");
          held.awaitIdleFor(300, after);
          long start = System.nanoTime();
          held.keep(agent.open(seed.url(), seed.role(), seed.rolePassword()));
          assertThat((System.nanoTime() - start) / 1_000_000).isLessThan(2500);
          assertThat(held.gone(after)).isTrue();
          assertThat(agent.metrics.terminations()).isEqualTo(2);
          assertThat(agent.metrics.failures(FailureCause.ADMIN_UNAVAILABLE)).isZero();
        }
      } finally {
        seed.drop();
      }
    }
  }

  @Test
  void theServerGoneMidReclaimGivesTheOriginalBackQuickly() throws Exception {
    PostgresServer server = PrivateServer.start(Map.of());
    try {
      Seed seed = TestDatabase.seed(server, 1);
      HeldSessions held = new HeldSessions(server);
      held.awaitIdleFor(300, held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "victim-if-allowed"));
      try (AdviceLoop agent = AdviceLoop.terminating(seed.admin(), seed.adminPassword(),
          Map.of("pgreclaim.deadline", "1s"))) {
        // between the refusal and the reclaim: the admin login finds nobody listening
        agent.woven.hook(new WovenDriver.ExitHook() {
          @Override
          public void before(WovenDriver.Exit exit) {
            if (!exit.admin() && agent.woven.appFailures().size() == 1) {
              held.close();
              server.close();
            }
          }
        });
        long start = System.nanoTime();
        SQLException refused = assertThrows(SQLException.class,
            () -> agent.open(seed.url(), seed.role(), seed.rolePassword()));
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertThat(millis).isLessThan(2500);
        assertThat(agent.woven.appFailures()).as("no retry").hasSize(1);
        assertThat((Throwable) refused).isSameAs(agent.woven.appFailures().get(0));
        assertThat(refused.getSQLState()).isEqualTo("53300");
        assertThat(refused.getSuppressed()).hasSize(1);
        assertThat(refused.getSuppressed()[0].getMessage()).contains("gave up: admin-unavailable");
        assertThat(agent.metrics.failures(FailureCause.ADMIN_UNAVAILABLE)).isEqualTo(1);
      }
    } finally {
      server.close();
    }
  }
}
