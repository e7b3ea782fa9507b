package dev.pgreclaim.reclaim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.pgreclaim.metrics.FailureCause;
import dev.pgreclaim.reclaim.HeldSessions.State;
import dev.pgreclaim.testkit.PostgresServer;
import dev.pgreclaim.testkit.PostgresTest;
import dev.pgreclaim.testkit.TestDatabase;
import dev.pgreclaim.testkit.TestDatabase.Seed;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** No kill storms: threads share one reclaim, the budget stops terminations, backoff is jittered. */
@PostgresTest
class NoStormTest {

  @Test
  void eightThreadsRefusedAtOnceTerminateNoMoreThanTheIdleSessions(PostgresServer server) throws Exception {
    int threads = 8;
    try (Seed seed = TestDatabase.seed(server, 2); HeldSessions held = new HeldSessions(server);
        LogCapture log = LogCapture.start()) {
      int first = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "idle-1");
      int second = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "idle-2");
      Thread.sleep(1600);
      // min-idle above the deadline: a connection this test hands out can never become a victim in the same burst
      try (AdviceLoop agent = AdviceLoop.terminating(seed.admin(), seed.adminPassword(),
          Map.of("pgreclaim.min-idle", "1500ms", "pgreclaim.deadline", "1s"))) {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<Connection>> opens = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
          opens.add(pool.submit(() -> {
            go.await();
            return agent.open(seed.url(), seed.role(), seed.rolePassword());
          }));
        }
        go.countDown();
        int connected = 0;
        List<Throwable> refusals = new ArrayList<>();
        for (Future<Connection> open : opens) {
          try {
            held.keep(open.get(30, TimeUnit.SECONDS));
            connected++;
          } catch (java.util.concurrent.ExecutionException failed) {
            refusals.add(failed.getCause());
          }
        }
        pool.shutdown();

        assertThat(agent.metrics.terminations()).as("terminations").isLessThanOrEqualTo(2);
        assertThat(connected).isBetween(1, 2);
        assertThat(held.gone(first) || held.gone(second)).isTrue();
        for (Throwable refused : refusals) {
          assertThat(refused).isInstanceOf(SQLException.class);
          assertThat(((SQLException) refused).getSQLState()).isEqualTo("53300");
          assertThat(refused.getSuppressed()).hasSize(1);
        }
        Set<String> auditedPids = new HashSet<>();
        for (String line : log.text().split("\n")) {
          if (line.contains("AUDIT terminated pid=")) {
            assertThat(auditedPids.add(line.replaceAll(".*AUDIT terminated pid=(\\d+).*", "$1")))
                .as("each pid terminated once: %s", line).isTrue();
          }
        }
        assertThat(auditedPids).hasSize((int) agent.metrics.terminations());
      }
    }
  }

  @Test
  void pastTheBudgetTheOriginal53300ComesBackWithoutTerminating(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, 3); HeldSessions held = new HeldSessions(server);
        AdviceLoop agent = AdviceLoop.terminating(seed.admin(), seed.adminPassword(),
            Map.of("pgreclaim.budget", "1/1h"))) {
      List<Integer> idle = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        idle.add(held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "idle-" + i));
      }
      Thread.sleep(300);
      held.keep(agent.open(seed.url(), seed.role(), seed.rolePassword()));
      assertThat(agent.metrics.terminations()).isEqualTo(1);

      SQLException refused = assertThrows(SQLException.class,
          () -> agent.open(seed.url(), seed.role(), seed.rolePassword()));
      assertThat(refused.getSQLState()).isEqualTo("53300");
      assertThat(refused.getSuppressed()[0].getMessage()).contains("gave up: budget-exhausted");
      assertThat(agent.metrics.failures(FailureCause.BUDGET_EXHAUSTED)).isEqualTo(1);
      assertThat(agent.metrics.terminations()).isEqualTo(1);
      assertThat(idle.stream().filter(pid -> {
        try {
          return held.alive(pid);
        } catch (SQLException e) {
          throw new IllegalStateException(e);
        }
      })).hasSize(2);
    }
  }

  @Test
  void backoffIsJitteredAndBoundedByTheTimeLeft() {
    Set<Long> firstPauses = new HashSet<>();
    for (int i = 0; i < 50; i++) {
      Backoff backoff = new Backoff();
      long pause = backoff.nextMicros(Long.MAX_VALUE);
      assertThat(pause).isBetween(500L, 1500L);
      firstPauses.add(pause);
      long last = pause;
      for (int step = 0; step < 10; step++) {
        last = backoff.nextMicros(Long.MAX_VALUE);
      }
      assertThat(last).isBetween(Backoff.MAX_STEP_MICROS / 2, Backoff.MAX_STEP_MICROS * 3 / 2);
      assertThat(backoff.nextMicros(100)).isLessThanOrEqualTo(100);
      assertThat(backoff.nextMicros(-5)).isZero();
    }
    assertThat(firstPauses).as("jitter: not all the same").hasSizeGreaterThan(1);
  }
}
