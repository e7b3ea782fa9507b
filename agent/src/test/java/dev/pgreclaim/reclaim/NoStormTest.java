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
import dev.pgreclaim.testkit.PrivateServer;
import dev.pgreclaim.testkit.TestDatabase.Seed;
import dev.pgreclaim.testkit.TestDatabase;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** No kill storms: threads share one reclaim, the budget stops terminations, backoff is jittered. */
@PostgresTest
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class NoStormTest {

  /**
   * All threads are refused before any of them reaches the agent (a barrier in the woven connect), so no thread is
   * opening outside the agent when a slot is freed: exactly the 2 idle sessions are terminated, each once, the 2
   * threads that terminated get in, and every other thread gets its 53300 with {@code no-victim}.
   */
  @Test
  void eightThreadsRefusedAtOnceTerminateExactlyTheIdleSessions(PostgresServer server) throws Exception {
    int threads = 8;
    try (Seed seed = TestDatabase.seed(server, 2); HeldSessions held = new HeldSessions(server);
        LogCapture log = LogCapture.start()) {
      int first = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "idle-1");
      int second = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "idle-2");
      held.awaitIdleFor(1600, first, second);
      // min-idle above the deadline: a connection this test hands out can never become a victim in the same burst
      try (AdviceLoop agent = AdviceLoop.terminating(seed.admin(), seed.adminPassword(),
          Map.of("pgreclaim.min-idle", "1500ms", "pgreclaim.deadline", "5s"))) {
        List<Outcome> outcomes = burst(agent, seed, threads);
        int connected = 0;
        for (Outcome outcome : outcomes) {
          if (outcome.connection() != null) {
            held.keep(outcome.connection());
            connected++;
          } else {
            SQLException refused = (SQLException) outcome.failure();
            assertThat(refused.getSQLState()).isEqualTo("53300");
            assertThat(refused.getSuppressed()).hasSize(1);
            assertThat(refused.getSuppressed()[0].getMessage()).contains("gave up: no-victim");
          }
        }
        assertThat(agent.metrics.terminations()).as("terminations").isEqualTo(2);
        assertThat(connected).isEqualTo(2);
        assertThat(held.gone(first)).isTrue();
        assertThat(held.gone(second)).isTrue();
        List<String> auditedPids = new ArrayList<>();
        for (String line : log.text().split("\n")) {
          if (line.contains("AUDIT terminated pid=")) {
            auditedPids.add(line.replaceAll(".*AUDIT terminated pid=(\\d+).*", "$1"));
          }
        }
        assertThat(auditedPids).containsExactlyInAnyOrder(String.valueOf(first), String.valueOf(second));
      }
    }
  }

  /**
   * What only single-flight gives: a burst of refusals with nothing eligible costs the server one victim query and one
   * lock round on one admin session, and every thread gets that one "no eligible session" answer. Counted on the
   * server by pg_stat_statements (a private server that preloads it).
   */
  @Test
  void aBurstWithNothingEligibleAsksTheServerOnceOnOneAdminSession() throws Exception {
    int threads = 8;
    try (PostgresServer server = PrivateServer.start(
        Map.of("shared_preload_libraries", "pg_stat_statements", "pg_stat_statements.track", "all"));
        Seed seed = TestDatabase.seed(server, 2); HeldSessions held = new HeldSessions(server)) {
      server.execute("postgres", "create extension if not exists pg_stat_statements");
      held.hold(seed.url(), seed.role(), seed.rolePassword(), State.ACTIVE, "busy-1");
      held.hold(seed.url(), seed.role(), seed.rolePassword(), State.ACTIVE, "busy-2");
      try (AdviceLoop agent = AdviceLoop.terminating(seed.admin(), seed.adminPassword(),
          Map.of("pgreclaim.deadline", "5s", "pgreclaim.admin.keep-alive", "1h"))) {
        server.execute("postgres", "select pg_stat_statements_reset()");
        List<Outcome> outcomes = burst(agent, seed, threads);

        Set<String> answers = new HashSet<>();
        for (Outcome outcome : outcomes) {
          assertThat(outcome.connection()).isNull();
          SQLException refused = (SQLException) outcome.failure();
          assertThat(refused.getSQLState()).isEqualTo("53300");
          String note = refused.getSuppressed()[0].getMessage();
          assertThat(note).contains("gave up: no-victim");
          answers.add(note.substring(note.indexOf("gave up:")));
        }
        assertThat(answers).as("one answer for the burst").hasSize(1);
        assertThat(agent.metrics.failures(FailureCause.NO_VICTIM)).isEqualTo(threads);
        assertThat(adminCalls(server, seed.admin(), "%pg_terminate_backend%")).as("victim queries").isEqualTo(1);
        assertThat(adminCalls(server, seed.admin(), "%pg_advisory_lock%")).as("lock rounds").isEqualTo(1);
        assertThat(adminSessions(server, seed.admin())).as("admin sessions").isEqualTo(1);
        assertThat(agent.metrics.terminations()).isZero();
      }
    }
  }

  record Outcome(Connection connection, Throwable failure) {}

  /**
   * {@code threads} opens at once; each thread's first refusal waits in the woven connect, before the agent sees it,
   * until every thread has been refused.
   */
  static List<Outcome> burst(AdviceLoop agent, Seed seed, int threads) throws Exception {
    CyclicBarrier allRefused = new CyclicBarrier(threads);
    Set<Thread> refusedOnce = ConcurrentHashMap.newKeySet();
    agent.woven.hook(new WovenDriver.ExitHook() {
      @Override
      public void before(WovenDriver.Exit exit) throws Exception {
        if (!exit.admin() && exit.thrown() != null && refusedOnce.add(Thread.currentThread())) {
          allRefused.await(30, TimeUnit.SECONDS);
        }
      }
    });
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<Connection>> opens = new ArrayList<>();
      for (int i = 0; i < threads; i++) {
        opens.add(pool.submit(() -> agent.open(seed.url(), seed.role(), seed.rolePassword())));
      }
      List<Outcome> outcomes = new ArrayList<>();
      for (Future<Connection> open : opens) {
        try {
          outcomes.add(new Outcome(open.get(60, TimeUnit.SECONDS), null));
        } catch (ExecutionException failed) {
          outcomes.add(new Outcome(null, failed.getCause()));
        }
      }
      assertThat(refusedOnce).as("every thread was refused first").hasSize(threads);
      return outcomes;
    } finally {
      pool.shutdownNow();
    }
  }

  static long adminCalls(PostgresServer server, String admin, String queryLike) throws SQLException {
    try (Connection superuser = server.connectAsSuperuser("postgres");
        PreparedStatement statement = superuser.prepareStatement("select coalesce(sum(s.calls), 0)"
            + " from pg_stat_statements s join pg_roles r on r.oid = s.userid"
            + " where r.rolname = ? and s.query like ?")) {
      statement.setString(1, admin);
      statement.setString(2, queryLike);
      try (ResultSet rows = statement.executeQuery()) {
        rows.next();
        return rows.getLong(1);
      }
    }
  }

  static int adminSessions(PostgresServer server, String admin) throws SQLException {
    try (Connection superuser = server.connectAsSuperuser("postgres");
        PreparedStatement statement = superuser.prepareStatement("select count(*) from pg_stat_activity"
            + " where usename = ? and application_name = 'pg-reclaim-admin'")) {
      statement.setString(1, admin);
      try (ResultSet rows = statement.executeQuery()) {
        rows.next();
        return rows.getInt(1);
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
      held.awaitIdleFor(300, idle.stream().mapToInt(Integer::intValue).toArray());
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

  /** The README's schedule, in its own numbers: 1, 2, 4, 8, then 16 ms, each +-50 %, never past the time left. */
  @Test
  void backoffDoublesFromOneToSixteenMillisWithJitterAndIsBoundedByTheTimeLeft() {
    long[] stepsMicros = {1_000, 2_000, 4_000, 8_000, 16_000, 16_000, 16_000};
    List<Set<Long>> seen = new ArrayList<>();
    for (int i = 0; i < stepsMicros.length; i++) {
      seen.add(new HashSet<>());
    }
    for (int run = 0; run < 200; run++) {
      Backoff backoff = new Backoff();
      for (int step = 0; step < stepsMicros.length; step++) {
        long pause = backoff.nextMicros(Long.MAX_VALUE);
        assertThat(pause).as("step %d", step).isBetween(stepsMicros[step] / 2, stepsMicros[step] * 3 / 2);
        seen.get(step).add(pause);
      }
      backoff.reset();
      assertThat(backoff.nextMicros(Long.MAX_VALUE)).as("after reset").isBetween(500L, 1_500L);
      assertThat(backoff.nextMicros(100)).isLessThanOrEqualTo(100);
      assertThat(backoff.nextMicros(-5)).isZero();
    }
    for (int step = 0; step < stepsMicros.length; step++) {
      Set<Long> pauses = seen.get(step);
      assertThat(pauses).as("jitter at step %d", step).hasSizeGreaterThan(20);
      // each step's pauses reach into both halves of its +-50 % band: the doubling is not a wider band of one step
      assertThat(pauses.stream().mapToLong(Long::longValue).min().getAsLong()).isLessThan(stepsMicros[step] * 3 / 4);
      assertThat(pauses.stream().mapToLong(Long::longValue).max().getAsLong()).isGreaterThan(stepsMicros[step] * 5 / 4);
    }
  }
}
