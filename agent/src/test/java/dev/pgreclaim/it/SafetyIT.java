package dev.pgreclaim.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgreclaim.testkit.ForkedJvm;
import dev.pgreclaim.testkit.HeldSessions.State;
import dev.pgreclaim.testkit.HeldSessions;
import dev.pgreclaim.testkit.PostgresServer;
import dev.pgreclaim.testkit.PostgresTest;
import dev.pgreclaim.testkit.TestDatabase.Seed;
import dev.pgreclaim.testkit.TestDatabase;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The safety rules that are about the agent path itself or about several JVMs. */
@PostgresTest
@Timeout(value = 5, unit = java.util.concurrent.TimeUnit.MINUTES)
class SafetyIT {

  @Test
  void anInvalidPropertyLeavesTheAgentInertAndTheAppGetsIts53300(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, 1); HeldSessions held = new HeldSessions(server)) {
      int idle = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "would-be-victim");
      held.awaitIdleFor(300, idle);

      ForkedJvm.Result withAgent = AgentRun.app().terminating(seed).property("pgreclaim.min-idle", "ten seconds")
          .run(seed.url(), seed.role());
      ForkedJvm.Result withoutAgent = AgentRun.app().withoutAgent().env("APP_PASSWORD", seed.rolePassword())
          .run(seed.url(), seed.role());

      assertThat(withAgent.exitCode()).as(withAgent.toString()).isEqualTo(1);
      assertThat(withAgent.stdout()).isEqualTo(withoutAgent.stdout())
          .startsWith("FAILED sqlstate=53300 class=org.postgresql.util.PSQLException").doesNotContain("SUPPRESSED");
      assertThat(withAgent.stderr()).contains("invalid configuration, agent inactive")
          .contains("pgreclaim.min-idle='ten seconds' is invalid");
      assertThat(held.alive(idle)).isTrue();
      assertThat(withAgent.stdout() + withAgent.stderr()).doesNotContain(seed.adminPassword());
    }
  }

  /**
   * The agent breaks on purpose at each stage of a round (at the refusal, after a termination, at the retry's exit),
   * in a JVM whose pgjdbc sits in an isolated class loader (the woven driver reaches the bridge by reflection), over
   * three refused opens. Each open gets exactly what the driver's last run gave it (the first refusal, untouched, or
   * the retry's connection), never a note from the agent; every termination made is audited; the failure is logged
   * once, not once per open.
   */
  @ParameterizedTest(name = "fault {0}")
  @ValueSource(strings = {"refusal", "after-termination", "retry"})
  void anAgentThatThrowsLeavesTheAppWithExactlyItsOriginalOutcome(String where, PostgresServer server)
      throws Exception {
    try (Seed seed = TestDatabase.seed(server, 3); HeldSessions held = new HeldSessions(server)) {
      int[] idle = new int[3];
      for (int i = 0; i < idle.length; i++) {
        idle[i] = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "would-be-victim-" + i);
      }
      held.awaitIdleFor(300, idle);

      ForkedJvm.Result result = AgentRun.app().classpath(List.of(AgentRun.testClasses())).terminating(seed)
          .mainClass(FaultApp.class.getName()).property("dev.pgreclaim.faultInjection", where)
          .run(seed.url(), seed.role(), "3", "isolated", AgentRun.appLib("postgresql-42.7.jar").toString());

      assertThat(result.exitCode()).as(result.toString()).isZero();
      String stdout = result.stdout();
      String stderr = result.stderr();
      assertThat(stderr).as(result.toString()).contains("cannot see the agent jar");
      assertThat(stdout).as("the agent's summary never reaches the app").doesNotContain("SUPPRESSED");
      assertThat(count(stderr, "internal error, the application got its original outcome")).as(result.toString())
          .isEqualTo(1);
      int audits = count(stderr, "AUDIT terminated pid=");
      switch (where) {
        case "refusal" -> {
          assertThat(count(stdout, "FAILED sqlstate=53300 class=org.postgresql.util.PSQLException"))
              .as(result.toString()).isEqualTo(3);
          assertThat(audits).isZero();
          for (int pid : idle) {
            assertThat(held.alive(pid)).isTrue();
          }
        }
        case "after-termination" -> {
          // each refused open: one victim terminated (and audited), then the break: the original 53300 as thrown.
          // The slot it freed stays free, so the next open gets in without a refusal.
          int failed = count(stdout, "FAILED sqlstate=53300 class=org.postgresql.util.PSQLException");
          assertThat(failed + count(stdout, "CONNECTED loader=true")).as(result.toString()).isEqualTo(3);
          assertThat(failed).as("the break happened more than once: " + result).isGreaterThanOrEqualTo(2);
          assertThat(audits).as("one termination per refused open: " + result).isEqualTo(failed);
          Matcher audited = Pattern.compile("AUDIT terminated pid=(\\d+)").matcher(stderr);
          while (audited.find()) {
            assertThat(held.gone(Integer.parseInt(audited.group(1)))).as(audited.group()).isTrue();
          }
        }
        default -> {
          // the break comes after the retry ran: the app gets what that retry gave (almost always the connection;
          // a 53300 when it ran while the victim's slot was still being released)
          for (String line : stdout.split("\n")) {
            assertThat(line).as(result.toString()).matches("OPEN \\d (CONNECTED loader=true|FAILED sqlstate=53300"
                + " class=org.postgresql.util.PSQLException)");
          }
          assertThat(audits).as("at least two opens reached a retry: the failure repeated").isGreaterThanOrEqualTo(2);
          assertThat(stderr).contains("fault injected by dev.pgreclaim.faultInjection at the retry");
        }
      }
      assertThat(stdout + stderr).doesNotContain(seed.adminPassword());
    }
  }

  @Test
  void theSelfCheckNamesTheMissingGrantOffTheMainThread(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, 1); HeldSessions held = new HeldSessions(server)) {
      server.execute("postgres", "revoke pg_read_all_stats from " + seed.admin());
      held.awaitIdleFor(300, held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "would-be-victim"));

      ForkedJvm.Result result = AgentRun.app().terminating(seed).property("pgreclaim.self-check", "true")
          .property("pgreclaim.admin.url", seed.url()).run(seed.url(), seed.role());

      assertThat(result.stderr()).as(result.toString()).contains("self-check: admin role " + seed.admin())
          .contains("MISSING pg_read_all_stats").contains("GRANT pg_read_all_stats TO " + seed.admin());
      assertThat(result.stdout()).contains("FAILED sqlstate=53300").contains("gave up: state-hidden");
      assertThat(result.stdout() + result.stderr()).doesNotContain(seed.adminPassword());
    }
  }

  /**
   * Three JVMs race for a role limited to 2 whose 2 slots are held by idle sessions. The race is made certain: the
   * role's reclaim lock is held (as another JVM's reclaim would hold it) until all three JVMs' admin sessions are seen
   * waiting for it in pg_locks, then released. What the README claims must then hold exactly: 2 terminations, of the
   * 2 idle sessions, each once; the JVMs that terminated got their connection; the third got its 53300 with
   * {@code no-victim}.
   */
  @Test
  void threeJvmsRacingOverTwoIdleVictimsTerminateExactlyTwo(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, 2); HeldSessions held = new HeldSessions(server);
        Connection otherReclaim = server.connectAsSuperuser(dev.pgreclaim.reclaim.Reclaimer.ADMIN_DATABASE);
        Connection observer = server.connectAsSuperuser("postgres")) {
      int first = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "idle-1");
      int second = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "idle-2");
      held.awaitIdleFor(1600, first, second);
      lockForRole(otherReclaim, "pg_advisory_lock", seed.role());
      List<ForkedJvm.Handle> jvms = new ArrayList<>();
      List<ForkedJvm.Result> results = new ArrayList<>();
      try {
        for (int i = 0; i < 3; i++) {
          // min-idle above the time this test takes after the release: a connection a JVM just got never becomes
          // another JVM's victim
          jvms.add(AgentRun.app().terminating(seed).mainClass(RacingConnectApp.class.getName())
              .property("pgreclaim.min-idle", "1500ms").property("pgreclaim.deadline", "60s")
              .builder("0", "8000", seed.url(), seed.role()).start());
        }
        int waiting = awaitWaitingAdminSessions(observer, seed.admin(), 3, jvms);
        assertThat(waiting).as("admin sessions of the three JVMs waiting for the reclaim lock at once").isEqualTo(3);
      } finally {
        lockForRole(otherReclaim, "pg_advisory_unlock", seed.role());
      }
      for (ForkedJvm.Handle jvm : jvms) {
        results.add(jvm.waitFor(java.time.Duration.ofSeconds(90)));
      }
      List<String> terminated = new ArrayList<>();
      int connected = 0;
      int noVictim = 0;
      Pattern audit = Pattern.compile("AUDIT terminated pid=(\\d+)");
      for (ForkedJvm.Result result : results) {
        System.out.println(result);
        Matcher matcher = audit.matcher(result.stderr());
        int mine = 0;
        while (matcher.find()) {
          mine++;
          terminated.add(matcher.group(1));
        }
        if (result.stdout().contains("CONNECTED")) {
          connected++;
          assertThat(mine).as("a JVM that got in terminated one session for it: %s", result).isEqualTo(1);
        } else {
          assertThat(result.stdout()).as(result.toString()).contains("FAILED sqlstate=53300 suppressed=1")
              .contains("gave up: no-victim");
          assertThat(mine).as(result.toString()).isZero();
          noVictim++;
        }
        assertThat(result.stdout() + result.stderr()).doesNotContain(seed.adminPassword());
      }
      assertThat(terminated).as("terminations across JVMs").containsExactlyInAnyOrder(String.valueOf(first),
          String.valueOf(second));
      assertThat(connected).isEqualTo(2);
      assertThat(noVictim).isEqualTo(1);
    }
  }

  /** The lock a reclaim for {@code role} takes ({@code ReclaimLock}): another JVM's reclaim, as the agent sees it. */
  private static void lockForRole(Connection session, String function, String role) throws Exception {
    try (PreparedStatement statement = session.prepareStatement("select " + function + "(?, hashtext(?))")) {
      statement.setInt(1, 0x70677263);
      statement.setString(2, role);
      statement.executeQuery().close();
    }
  }

  /** Polls pg_locks until {@code expected} admin sessions of {@code admin} wait for an advisory lock (bounded). */
  private static int awaitWaitingAdminSessions(Connection observer, String admin, int expected,
      List<ForkedJvm.Handle> jvms) throws Exception {
    long until = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(60);
    int waiting = 0;
    try (PreparedStatement statement = observer.prepareStatement("select count(*) from pg_locks l join"
        + " pg_stat_activity a on a.pid = l.pid where l.locktype = 'advisory' and not l.granted"
        + " and a.application_name = 'pg-reclaim-admin' and a.usename = ?")) {
      statement.setString(1, admin);
      while (System.nanoTime() < until) {
        try (ResultSet rows = statement.executeQuery()) {
          rows.next();
          waiting = rows.getInt(1);
        }
        if (waiting >= expected || jvms.stream().noneMatch(ForkedJvm.Handle::isAlive)) {
          return waiting;
        }
        Thread.sleep(20);
      }
    }
    return waiting;
  }

  private static int count(String text, String fragment) {
    int count = 0;
    for (int at = text.indexOf(fragment); at >= 0; at = text.indexOf(fragment, at + fragment.length())) {
      count++;
    }
    return count;
  }
}
