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
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code max-attempts} and {@code deadline} cap the rounds of one refused open, through the woven driver: every slot
 * the agent frees is taken by another session before its retry runs (as a busy pool would), so each retry is refused
 * again, and only the caps stop the terminations. The caller then gets the first refusal, the very object the
 * driver threw (the woven {@code throw} of the original, not the retry's own 53300), with what was tried.
 */
@PostgresTest
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class RoundCapsTest {
  /** Longer than any of these tests: the sessions that take the freed slots never become victims themselves. */
  static final String MIN_IDLE = "2s";
  static final long MIN_IDLE_MILLIS = 2000;

  @Test
  void maxAttemptsCapsTheTerminationsOfOneOpen(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, 4); HeldSessions held = new HeldSessions(server);
        LogCapture log = LogCapture.start();
        AdviceLoop agent = AdviceLoop.terminating(seed.admin(), seed.adminPassword(),
            Map.of("pgreclaim.min-idle", MIN_IDLE, "pgreclaim.max-attempts", "3", "pgreclaim.deadline", "20s"))) {
      int[] idle = holdIdle(seed, held, 4);
      List<Integer> takers = refillEachFreedSlot(agent, seed, held, new AtomicLong(), null);

      SQLException refused = assertThrows(SQLException.class,
          () -> agent.open(seed.url(), seed.role(), seed.rolePassword()));

      assertThat(agent.metrics.terminations()).isEqualTo(3);
      assertThat(takers).hasSize(3);
      for (int i = 0; i < 3; i++) {
        assertThat(held.gone(idle[i])).as("the 3 longest-idle sessions are terminated").isTrue();
      }
      assertThat(held.alive(idle[3])).as("a fourth would exceed max-attempts").isTrue();
      assertThat(log.count("AUDIT terminated pid=")).isEqualTo(3);
      assertOriginalWithGaveUp(agent, refused, "gave up: max-attempts");
      assertThat(agent.metrics.failures(FailureCause.MAX_ATTEMPTS)).isEqualTo(1);
    }
  }

  @Test
  void theDeadlineEndsTheRoundsOfOneOpen(PostgresServer server) throws Exception {
    long deadlineMillis = 1500;
    try (Seed seed = TestDatabase.seed(server, 2); HeldSessions held = new HeldSessions(server);
        LogCapture log = LogCapture.start();
        AdviceLoop agent = AdviceLoop.terminating(seed.admin(), seed.adminPassword(), Map.of(
            "pgreclaim.min-idle", MIN_IDLE, "pgreclaim.max-attempts", "10",
            "pgreclaim.deadline", deadlineMillis + "ms"))) {
      int[] idle = holdIdle(seed, held, 2);
      AtomicLong firstRefusal = new AtomicLong();
      // after the first termination the freed slot is taken, and the retry runs only once the deadline has passed
      List<Integer> takers = refillEachFreedSlot(agent, seed, held, firstRefusal, () -> {
        long deadline = firstRefusal.get() + TimeUnit.MILLISECONDS.toNanos(deadlineMillis + 200);
        while (System.nanoTime() < deadline) {
          Thread.sleep(10);
        }
      });

      long start = System.nanoTime();
      SQLException refused = assertThrows(SQLException.class,
          () -> agent.open(seed.url(), seed.role(), seed.rolePassword()));
      long millis = (System.nanoTime() - start) / 1_000_000;

      assertThat(agent.metrics.terminations()).as("no round after the deadline").isEqualTo(1);
      assertThat(takers).hasSize(1);
      assertThat(held.gone(idle[0])).isTrue();
      assertThat(held.alive(idle[1])).isTrue();
      assertThat(log.count("AUDIT terminated pid=")).isEqualTo(1);
      assertOriginalWithGaveUp(agent, refused, "gave up: deadline");
      assertThat(agent.metrics.failures(FailureCause.DEADLINE)).isEqualTo(1);
      assertThat(millis).as("returned soon after the deadline").isLessThan(deadlineMillis + 200 + 2000);
    }
  }

  /** The caller's exception is the first one the woven body threw, with one suppressed note of what was tried. */
  static void assertOriginalWithGaveUp(AdviceLoop agent, SQLException refused, String gaveUp) {
    List<Throwable> failures = agent.woven.appFailures();
    assertThat(failures.size()).as("the first refusal and at least one refused retry").isGreaterThanOrEqualTo(2);
    assertThat((Throwable) refused).as("the first refusal, as the driver threw it").isSameAs(failures.get(0));
    for (Throwable retryFailure : failures.subList(1, failures.size())) {
      assertThat(retryFailure).isNotSameAs(refused);
      assertThat(((SQLException) retryFailure).getSQLState()).isEqualTo("53300");
    }
    assertThat(refused.getSQLState()).isEqualTo("53300");
    assertThat(refused.getSuppressed()).hasSize(1);
    assertThat(refused.getSuppressed()[0].getMessage()).contains(gaveUp);
  }

  static int[] holdIdle(Seed seed, HeldSessions held, int count) throws Exception {
    int[] idle = new int[count];
    for (int i = 0; i < count; i++) {
      idle[i] = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "idle-" + i);
    }
    held.awaitIdleFor(MIN_IDLE_MILLIS + 100, idle);
    return idle;
  }

  /** The victim's slot may take a moment to be released after it left pg_stat_activity: a bounded retry. */
  static int takeFreedSlot(Seed seed, HeldSessions held) throws Exception {
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (true) {
      try {
        return held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "took-freed-slot");
      } catch (SQLException refused) {
        if (!"53300".equals(refused.getSQLState()) || System.nanoTime() > until) {
          throw refused;
        }
        Thread.sleep(2);
      }
    }
  }

  interface Pause {
    void run() throws Exception;
  }

  /**
   * After each exit at which the agent has just terminated a session and will retry, another session of the role
   * takes the freed slot (then {@code pause} runs); {@code firstRefusal} gets the time the first refusal reached the
   * agent. Returns the pids of those sessions, filled in as they come.
   */
  static List<Integer> refillEachFreedSlot(AdviceLoop agent, Seed seed, HeldSessions held, AtomicLong firstRefusal,
      Pause pause) {
    List<Integer> takers = new ArrayList<>();
    agent.woven.hook(new WovenDriver.ExitHook() {
      @Override
      public void before(WovenDriver.Exit exit) {
        if (!exit.admin() && exit.thrown() != null) {
          firstRefusal.compareAndSet(0, System.nanoTime());
        }
      }

      @Override
      public void after(WovenDriver.Exit exit, boolean retry) throws Exception {
        if (exit.admin() || !retry || agent.metrics.terminations() == takers.size()) {
          return;
        }
        takers.add(takeFreedSlot(seed, held));
        if (pause != null) {
          pause.run();
        }
      }
    });
    return takers;
  }
}
