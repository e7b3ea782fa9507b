package dev.pgreclaim.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgreclaim.testkit.ForkedJvm;
import dev.pgreclaim.testkit.HeldSessions.State;
import dev.pgreclaim.testkit.HeldSessions;
import dev.pgreclaim.testkit.PostgresServer;
import dev.pgreclaim.testkit.PostgresTest;
import dev.pgreclaim.testkit.TestDatabase.Seed;
import dev.pgreclaim.testkit.TestDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Agent and wrapper in one JVM: an application started with {@code -javaagent:} and with the wrapper jar on its class
 * path. Every open the wrapper makes reaches pgjdbc through the agent's woven {@code connect}; exactly one of them
 * reclaims for it (the wrapper), and a plain {@code jdbc:postgresql:} open in the same JVM is the agent's alone, before
 * and after wrapper opens on the same thread.
 *
 * <p>Who acted shows in the victim: the agent's own arguments (which the wrapper never reads) protect the
 * {@code wrapper-*} sessions, so the agent can only ever terminate an {@code agent-*} session; the wrapper protects
 * nothing, and the {@code wrapper-*} sessions are the role's longest idle, so the wrapper picks one of them.
 */
@PostgresTest
@Timeout(value = 5, unit = java.util.concurrent.TimeUnit.MINUTES)
class AgentAndWrapperIT {
  private static final Pattern AUDIT = Pattern.compile("pg-reclaim AUDIT terminated pid=(\\d+)");

  static Path jdbcJar() {
    Path jar = Path.of(System.getProperty("pgreclaim.test.jdbcJar", "../jdbc/target/pg-reclaim-jdbc.jar"));
    if (!Files.isRegularFile(jar)) {
      throw new IllegalStateException("wrapper jar not built: " + jar.toAbsolutePath() + " (run mvn verify)");
    }
    return jar.toAbsolutePath();
  }

  @Test
  void eachOpenIsReclaimedOnceByTheEntryPointItCameThrough(PostgresServer server) throws Exception {
    List<String> steps = List.of("plain", "wrapper", "plain", "wrapper-datasource", "plain");
    try (Seed seed = TestDatabase.seed(server, steps.size()); HeldSessions held = new HeldSessions(server)) {
      List<Integer> wrapperVictims = new ArrayList<>();
      List<Integer> agentVictims = new ArrayList<>();
      // held in this order: the wrapper-* sessions are the longest idle of the role
      for (int i = 1; i <= 2; i++) {
        wrapperVictims.add(held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "wrapper-" + i));
      }
      for (int i = 1; i <= 3; i++) {
        agentVictims.add(held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "agent-" + i));
      }
      held.awaitIdleFor(300, agentVictims.stream().mapToInt(Integer::intValue).toArray());
      List<Integer> holders = new ArrayList<>(wrapperVictims);
      holders.addAll(agentVictims);
      assertThat(roleSessions(seed)).as("the role is at its limit").isEqualTo(steps.size());

      AgentRun run = AgentRun.app().terminating(seed).agentArgs("protect.application-names=wrapper-*")
          .mainClass(AgentAndWrapperApp.class.getName())
          .classpath(List.of(AgentRun.testClasses(), AgentRun.appLib("postgresql-42.7.jar"), jdbcJar()));
      List<Integer> expectedVictims = new ArrayList<>();
      ForkedJvm.Result result;
      try (ForkedJvm.Handle app = run.builder(seed.url(), seed.role()).start()) {
        int nextWrapper = 0;
        int nextAgent = 0;
        for (int step = 1; step <= steps.size(); step++) {
          String how = steps.get(step - 1);
          int victim = how.equals("plain") ? agentVictims.get(nextAgent++) : wrapperVictims.get(nextWrapper++);
          expectedVictims.add(victim);
          app.writeLine(how);
          String opened = awaitLine(app, "OPENED " + step + " ");
          String context = "step " + step + " (" + how + "): " + opened + "\n" + app.stderr();
          assertThat(opened).as(context).contains("CONNECTED");
          assertThat(held.gone(victim)).as("the expected victim of " + context).isTrue();
          for (int pid : holders) {
            if (!expectedVictims.contains(pid)) {
              assertThat(held.alive(pid)).as("pid %d after %s", pid, context).isTrue();
            }
          }
          assertThat(roleSessions(seed)).as("one session gone, one opened: " + context).isEqualTo(steps.size());
        }
        app.writeLine("STOP");
        result = app.waitFor(Duration.ofSeconds(60));
      }
      System.out.println(result);
      assertThat(result.exitCode()).as(result.toString()).isZero();
      assertThat(result.stdout()).as(result.toString()).contains("KEPT ALIVE 5 of 5");
      List<List<Integer>> audited = auditsByStep(result.stderr(), steps.size());
      for (int step = 1; step <= steps.size(); step++) {
        assertThat(audited.get(step - 1)).as("audit lines of step %d (%s): %s", step, steps.get(step - 1), result)
            .containsExactly(expectedVictims.get(step - 1));
      }
      assertThat(result.stdout() + result.stderr()).doesNotContain(seed.adminPassword());
    }
  }

  /** The pids of the audit lines written after each {@code STEP n} marker, by step. */
  static List<List<Integer>> auditsByStep(String stderr, int steps) {
    List<List<Integer>> byStep = new ArrayList<>();
    for (int step = 1; step <= steps; step++) {
      int from = stderr.indexOf("STEP " + step + " ");
      int to = step < steps ? stderr.indexOf("STEP " + (step + 1) + " ") : stderr.length();
      assertThat(from).as("marker of step %d", step).isNotNegative();
      List<Integer> pids = new ArrayList<>();
      Matcher matcher = AUDIT.matcher(stderr.substring(from, to));
      while (matcher.find()) {
        pids.add(Integer.parseInt(matcher.group(1)));
      }
      byStep.add(pids);
    }
    // lines before the first marker belong to no open: there must be none
    Matcher before = AUDIT.matcher(stderr.substring(0, Math.max(0, stderr.indexOf("STEP 1 "))));
    assertThat(before.find()).as("an audit line before the first open").isFalse();
    return byStep;
  }

  static int roleSessions(Seed seed) throws Exception {
    try (Connection superuser = seed.server().connectAsSuperuser("postgres");
        PreparedStatement statement = superuser.prepareStatement(
            "select count(*) from pg_catalog.pg_stat_activity where usename = ?")) {
      statement.setString(1, seed.role());
      try (ResultSet rows = statement.executeQuery()) {
        rows.next();
        return rows.getInt(1);
      }
    }
  }

  static String awaitLine(ForkedJvm.Handle app, String prefix) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (true) {
      for (String line : app.stdout().split("\n")) {
        if (line.startsWith(prefix)) {
          return line;
        }
      }
      if (System.nanoTime() > deadline || !app.isAlive()) {
        throw new AssertionError("no line " + prefix + "\n--- stdout ---\n" + app.stdout() + "\n--- stderr ---\n"
            + app.stderr());
      }
      Thread.sleep(20);
    }
  }
}
