package dev.pgreclaim.reclaim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.pgreclaim.agent.WovenDriver;
import dev.pgreclaim.metrics.FailureCause;
import dev.pgreclaim.testkit.HeldSessions.State;
import dev.pgreclaim.testkit.HeldSessions;
import dev.pgreclaim.testkit.LogCapture;
import dev.pgreclaim.testkit.PostgresServer;
import dev.pgreclaim.testkit.PostgresTest;
import dev.pgreclaim.testkit.TestDatabase.Seed;
import dev.pgreclaim.testkit.TestDatabase;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;

/**
 * Bounded time, whatever the admin side does: each refused open that enters reclaim returns within
 * {@code pgreclaim.deadline} (plus generous slack), the caller gets the original 53300 with what the agent tried as
 * suppressed, and the log says once (not once per open) what is wrong and how to fix it.
 */
@PostgresTest
@org.junit.jupiter.api.Timeout(value = 2, unit = java.util.concurrent.TimeUnit.MINUTES)
class BoundedTimeTest {
  /** Deadline used here: short, so the suite stays fast. */
  static final long DEADLINE_MILLIS = 1000;
  /** Generous: the bound proves "no hang", not speed. */
  static final long SLACK_MILLIS = 1500;
  static final int OPENS = 3;

  record Outcome(List<SQLException> refusals, long slowestMillis, String log) {}

  /** Fills the role's only slot with an eligible idle session and opens {@link #OPENS} times through the agent. */
  static Outcome refusedOpens(Seed seed, HeldSessions held, Map<String, String> overrides, String adminPassword)
      throws Exception {
    held.awaitIdleFor(250, held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "victim-if-allowed"));
    Map<String, String> settings = new HashMap<>(overrides);
    settings.putIfAbsent("pgreclaim.deadline", DEADLINE_MILLIS + "ms");
    List<SQLException> refusals = new ArrayList<>();
    long slowest = 0;
    try (LogCapture log = LogCapture.start();
        AdviceLoop agent = AdviceLoop.terminating(seed.admin(), adminPassword, settings)) {
      for (int i = 0; i < OPENS; i++) {
        long start = System.nanoTime();
        refusals.add(assertThrows(SQLException.class, () -> agent.open(seed.url(), seed.role(), seed.rolePassword())));
        slowest = Math.max(slowest, (System.nanoTime() - start) / 1_000_000);
      }
      assertThat(agent.metrics.terminations()).isZero();
      // no retry ran: each open's one failure, as the woven body threw it, is what its caller got
      assertThat(agent.woven.appFailures()).hasSize(OPENS);
      for (int i = 0; i < OPENS; i++) {
        assertThat((Throwable) refusals.get(i)).isSameAs(agent.woven.appFailures().get(i));
      }
      return new Outcome(refusals, slowest, log.text());
    }
  }

  static void assertOriginalWithSuppressed(Outcome outcome, String cause) {
    assertThat(outcome.slowestMillis()).as("slowest refused open (ms)").isLessThan(DEADLINE_MILLIS + SLACK_MILLIS);
    for (SQLException refused : outcome.refusals()) {
      assertThat(refused.getSQLState()).isEqualTo("53300");
      assertThat(refused.getClass().getName()).isEqualTo("org.postgresql.util.PSQLException");
      assertThat(refused.getSuppressed()).hasSize(1);
      assertThat(refused.getSuppressed()[0].getMessage()).startsWith("pg-reclaim: role limit").contains(
          "gave up: " + cause);
    }
  }

  @Test
  void adminPortClosed(PostgresServer server) throws Exception {
    int closedPort;
    try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closedPort = probe.getLocalPort();
    }
    try (Seed seed = TestDatabase.seed(server, 1); HeldSessions held = new HeldSessions(server)) {
      String adminUrl = "jdbc:postgresql://127.0.0.1:" + closedPort + "/postgres";
      Outcome outcome = refusedOpens(seed, held, Map.of("pgreclaim.admin.url", adminUrl), seed.adminPassword());
      assertOriginalWithSuppressed(outcome, "admin-unavailable");
      assertThat(outcome.refusals().get(0).getSuppressed()[0].getCause()).isInstanceOf(SQLException.class);
      assertThat(countLines(outcome.log(), "could not be opened")).isEqualTo(1);
      assertThat(outcome.log()).contains(adminUrl).contains("check pgreclaim.admin.url");
    }
  }

  @Test
  void adminConnectHangs(PostgresServer server) throws Exception {
    try (SilentServer silent = new SilentServer();
        Seed seed = TestDatabase.seed(server, 1); HeldSessions held = new HeldSessions(server)) {
      String adminUrl = silent.adminUrl();
      Outcome outcome = refusedOpens(seed, held, Map.of("pgreclaim.admin.url", adminUrl), seed.adminPassword());
      assertOriginalWithSuppressed(outcome, "admin-unavailable");
      assertThat(silent.acceptedCount()).as("the agent really tried the silent server").isPositive();
      assertThat(countLines(outcome.log(), "gave up: admin-unavailable")).isEqualTo(1);
    }
  }

  @Test
  void theCallersLoginTimeoutBoundsTheReclaimToo(PostgresServer server) throws Exception {
    try (SilentServer silent = new SilentServer();
        Seed seed = TestDatabase.seed(server, 1); HeldSessions held = new HeldSessions(server);
        AdviceLoop agent = AdviceLoop.terminating(seed.admin(), seed.adminPassword(), Map.of(
            "pgreclaim.admin.url", silent.adminUrl(),
            "pgreclaim.deadline", "30s"))) {
      held.awaitIdleFor(250, held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "victim-if-allowed"));
      Properties info = new Properties();
      info.setProperty("user", seed.role());
      info.setProperty("password", seed.rolePassword());
      info.setProperty("loginTimeout", "1");
      long start = System.nanoTime();
      SQLException refused = assertThrows(SQLException.class, () -> agent.open(seed.url(), info));
      long millis = (System.nanoTime() - start) / 1_000_000;
      assertThat(millis).as("bounded by loginTimeout=1s, not deadline=30s").isLessThan(1000 + SLACK_MILLIS);
      assertThat(refused.getSQLState()).isEqualTo("53300");
      assertThat(refused.getSuppressed()[0].getMessage()).contains("gave up: admin-unavailable");
    }
  }

  @Test
  void anotherJvmHoldingTheReclaimLockPastTheDeadline(PostgresServer server) throws Exception {
    // What another JVM's reclaim for the same role holds while it works: the per-role advisory lock in the database
    // the admin sessions use (by default the fixed admin database, whatever database the refused open named).
    try (Seed seed = TestDatabase.seed(server, 1); HeldSessions held = new HeldSessions(server);
        java.sql.Connection otherJvm = server.connectAsSuperuser(Reclaimer.ADMIN_DATABASE);
        java.sql.PreparedStatement lock = otherJvm.prepareStatement("select pg_advisory_lock(?, hashtext(?))")) {
      lock.setInt(1, ReclaimLock.NAMESPACE);
      lock.setString(2, seed.role());
      lock.executeQuery().close();
      Outcome outcome = refusedOpens(seed, held, Map.of(), seed.adminPassword());
      assertOriginalWithSuppressed(outcome, "lock-timeout");
      assertThat(countLines(outcome.log(), "gave up: lock-timeout")).isEqualTo(1);
    }
  }

  @Test
  void wrongAdminPassword(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, 1); HeldSessions held = new HeldSessions(server)) {
      Outcome outcome = refusedOpens(seed, held, Map.of(), "not-the-password");
      assertOriginalWithSuppressed(outcome, "admin-login-failed");
      assertThat(outcome.refusals().get(0).getSuppressed()[0].getMessage()).contains("28P01")
          .contains("check pgreclaim.admin.user and its password");
      assertThat(countLines(outcome.log(), "gave up: admin-login-failed")).isEqualTo(1);
    }
  }

  @Test
  void adminWithoutPgSignalBackend(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, 1); HeldSessions held = new HeldSessions(server)) {
      server.execute("postgres", "revoke pg_signal_backend from " + seed.admin());
      Outcome outcome = refusedOpens(seed, held, Map.of(), seed.adminPassword());
      assertOriginalWithSuppressed(outcome, "no-privilege");
      assertThat(countLines(outcome.log(), "gave up: no-privilege")).isEqualTo(1);
      assertThat(outcome.log()).contains("GRANT pg_signal_backend TO");
    }
  }

  @Test
  void adminWithoutPgReadAllStatsIsDetectedAndSaid(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, 1); HeldSessions held = new HeldSessions(server)) {
      server.execute("postgres", "revoke pg_read_all_stats from " + seed.admin());
      Outcome outcome = refusedOpens(seed, held, Map.of(), seed.adminPassword());
      assertOriginalWithSuppressed(outcome, "state-hidden");
      assertThat(countLines(outcome.log(), "gave up: state-hidden")).isEqualTo(1);
      assertThat(outcome.log()).contains("GRANT pg_read_all_stats TO");
    }
  }

  @Test
  void interruptedCallerGetsTheOriginalAndKeepsTheFlag(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, 1); HeldSessions held = new HeldSessions(server);
        AdviceLoop agent = AdviceLoop.terminating(seed.admin(), seed.adminPassword(), Map.of())) {
      int idle = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "victim-if-allowed");
      held.awaitIdleFor(250, idle);
      Thread.currentThread().interrupt();
      SQLException refused;
      try {
        refused = assertThrows(SQLException.class, () -> agent.open(seed.url(), seed.role(), seed.rolePassword()));
      } finally {
        assertThat(Thread.interrupted()).as("interrupt flag kept (and cleared here)").isTrue();
      }
      assertThat(refused.getSQLState()).isEqualTo("53300");
      assertThat(refused.getSuppressed()[0].getMessage()).contains("gave up: interrupted");
      assertThat(agent.metrics.failures(FailureCause.INTERRUPTED)).isEqualTo(1);
      assertThat(held.alive(idle)).isTrue();
    }
  }

  @Test
  void aThreadInterruptedWhileWaitingForAnotherThreadsReclaimReturnsAtOnce(PostgresServer server) throws Exception {
    try (SilentServer silent = new SilentServer();
        Seed seed = TestDatabase.seed(server, 1); HeldSessions held = new HeldSessions(server);
        AdviceLoop agent = AdviceLoop.terminating(seed.admin(), seed.adminPassword(), Map.of(
            "pgreclaim.admin.url", silent.adminUrl(),
            "pgreclaim.deadline", "2s"))) {
      held.awaitIdleFor(250, held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "victim-if-allowed"));

      // A holds the role's single-flight lock, stuck in the hanging admin login until its deadline
      java.util.concurrent.CompletableFuture<Throwable> first = new java.util.concurrent.CompletableFuture<>();
      Thread a = new Thread(() -> first.complete(catchFailure(agent, seed)), "opener-a");
      a.start();
      long until = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
      while (silent.acceptedCount() == 0 && System.nanoTime() < until) {
        Thread.sleep(5);
      }
      assertThat(silent.acceptedCount()).as("A's admin login reached the silent server").isPositive();
      // B waits for A's reclaim; interrupting it must end its wait at once, with the flag kept
      java.util.concurrent.CompletableFuture<Object[]> second = new java.util.concurrent.CompletableFuture<>();
      Thread b = new Thread(() -> {
        Throwable failure = catchFailure(agent, seed);
        second.complete(new Object[] {failure, Thread.currentThread().isInterrupted()});
      }, "opener-b");
      b.start();
      // B's refusal reached the agent and B is parked: waiting for A's reclaim
      while (!(agent.woven.appFailures().size() >= 2 && (b.getState() == Thread.State.WAITING
          || b.getState() == Thread.State.TIMED_WAITING)) && System.nanoTime() < until) {
        Thread.sleep(5);
      }
      assertThat(b.getState()).as("B waits for A's reclaim").isIn(Thread.State.WAITING, Thread.State.TIMED_WAITING);
      long interruptedAt = System.nanoTime();
      b.interrupt();
      Object[] outcome = second.get(10, java.util.concurrent.TimeUnit.SECONDS);
      long millis = (System.nanoTime() - interruptedAt) / 1_000_000;
      assertThat(first.isDone()).as("A is still in its reclaim: B did not wait for it").isFalse();
      assertThat(millis).isLessThan(2000);
      assertThat(outcome[1]).as("B's interrupt flag").isEqualTo(true);
      SQLException refused = (SQLException) outcome[0];
      assertThat(refused.getSQLState()).isEqualTo("53300");
      assertThat(refused.getSuppressed()[0].getMessage()).contains("gave up: interrupted");
      assertThat(first.get(10, java.util.concurrent.TimeUnit.SECONDS)).isInstanceOf(SQLException.class);
    }
  }

  private static Throwable catchFailure(AdviceLoop agent, Seed seed) {
    try {
      agent.open(seed.url(), seed.role(), seed.rolePassword()).close();
      return null;
    } catch (Throwable failure) {
      return failure;
    }
  }

  @Test
  void theCallerGetsTheVerySameExceptionObject(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, 1); HeldSessions held = new HeldSessions(server)) {
      server.execute("postgres", "revoke pg_read_all_stats from " + seed.admin());
      held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "victim-if-allowed");
      try (AdviceLoop agent = AdviceLoop.terminating(seed.admin(), seed.adminPassword(), Map.of())) {
        SQLException refused = assertThrows(SQLException.class,
            () -> agent.open(seed.url(), seed.role(), seed.rolePassword()));
        // what the woven connect's original body threw, as the bridge received it: one run, no retry
        assertThat(agent.woven.appFailures()).hasSize(1);
        assertThat((Throwable) refused).isSameAs(agent.woven.appFailures().get(0));
        assertThat(refused.getSuppressed()).hasSize(1);
        assertThat(refused.getSuppressed()[0].getMessage()).contains("state-hidden");
      }
    }
  }

  /**
   * The agent's admin login goes through the same woven driver as the application's opens. Refused there by the admin
   * role's own connection limit (whose slot an idle, eligible-looking admin-role session holds), it must start no
   * reclaim of its own: the caller gets its original 53300 saying the admin login was refused, and nothing is
   * terminated, neither the admin role's session nor the application's.
   */
  @Test
  void anAdminLoginRefusedThroughTheWovenDriverStartsNoReclaimOfItsOwn(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, 1); HeldSessions held = new HeldSessions(server);
        AdviceLoop agent = AdviceLoop.terminating(seed.admin(), seed.adminPassword(), Map.of())) {
      server.execute("postgres", "alter role " + seed.admin() + " connection limit 1");
      int adminIdle = held.hold(seed.url(), seed.admin(), seed.adminPassword(), State.IDLE, "admin-console");
      int appIdle = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "victim-if-allowed");
      held.awaitIdleFor(250, adminIdle, appIdle);
      List<Throwable> adminFailures = new java.util.concurrent.CopyOnWriteArrayList<>();
      agent.woven.hook(new WovenDriver.ExitHook() {
        @Override
        public void before(WovenDriver.Exit exit) {
          if (exit.admin() && exit.thrown() != null) {
            adminFailures.add(exit.thrown());
          }
        }
      });

      SQLException refused = assertThrows(SQLException.class,
          () -> agent.open(seed.url(), seed.role(), seed.rolePassword()));

      assertThat(adminFailures).as("the admin login was refused inside the woven connect").isNotEmpty()
          .allSatisfy(failure -> assertThat(((SQLException) failure).getSQLState()).isEqualTo("53300"));
      assertThat(agent.woven.appFailures()).hasSize(1);
      assertThat((Throwable) refused).isSameAs(agent.woven.appFailures().get(0));
      assertThat(refused.getSuppressed()).hasSize(1);
      assertThat(refused.getSuppressed()[0].getMessage()).contains("gave up: admin-unavailable")
          .contains("admin role's own connection limit");
      assertThat(agent.metrics.refusalsTotal()).as("only the application's refusal counted").isEqualTo(1);
      assertThat(agent.metrics.terminations()).isZero();
      assertThat(held.alive(adminIdle)).isTrue();
      assertThat(held.alive(appIdle)).isTrue();
    }
  }

  static int countLines(String log, String fragment) {
    int count = 0;
    for (String line : log.split("\n")) {
      if (line.contains(fragment)) {
        count++;
      }
    }
    return count;
  }
}
