package dev.pgreclaim.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgreclaim.it.AuditWatch.Termination;
import dev.pgreclaim.it.RoleSessionWatch.Vanished;
import dev.pgreclaim.testkit.ForkedJvm;
import dev.pgreclaim.testkit.PostgresServer;
import dev.pgreclaim.testkit.PostgresTest;
import dev.pgreclaim.testkit.TestDatabase;
import dev.pgreclaim.testkit.TestDatabase.Seed;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 15, "no reclaim wars": real HikariCP pools in separate JVMs, each with the agent in terminate mode, on roles
 * whose connection limit is 8. A kill serves a caller that is starving, never a pool topping itself up.
 *
 * <p>The three scenarios are independent (a role and a database each), so the first test to run starts all three at
 * once, each in its own JVMs, and every test waits for its own: the wall time is the longest scenario's (about 4
 * minutes), not the sum. Terminations are counted twice: from the agents' {@code AUDIT terminated} lines and from the
 * server ({@link RoleSessionWatch}: pids that vanish).
 *
 * <p>{@code -Dpgreclaim.war.agentJar=<jar>} runs the same scenarios against another agent jar (e.g. one built from an
 * older commit), to measure the "before"; each scenario prints a {@code WAR ...} line with its figures.
 */
@PostgresTest
class NoReclaimWarIT {
  /** The pressure: two pools of 5 (10 sessions wanted) on a role that admits 8. */
  static final int ROLE_LIMIT = 8;
  /** Terminations while the second service is starting are allowed; the rule is judged after this. */
  static final long SETTLE_MS = 30_000;
  /** At least 3 minutes judged after the settle time, as the issue asks. */
  static final long JUDGED_MS = 180_000;
  static final int WAR_TRAFFIC_SECONDS = 220;
  static final int SINGLE_POOL_SECONDS = 90;
  static final Pattern DONE = Pattern.compile("DONE ok=(\\d+) failed=(\\d+)");
  static final Pattern NOT_ACTED = Pattern.compile("pg-reclaim AUDIT not-acted ");
  static final Pattern NOT_STARVING = Pattern.compile("MBEAN FailuresByCause=\\{[^}]*not-starving=(\\d+)");

  private static ExecutorService scenarios;
  private static Future<WarFigures> twoPools;
  private static Future<WarFigures> singlePool;
  private static Future<StarvingOutcome> starving;

  /** What a traffic scenario measured; {@code judged*} count from {@code judgedFromMs} to {@code judgedToMs}. */
  record WarFigures(Seed seed, List<Termination> audited, List<Vanished> vanished, long judgedFromMs,
      long judgedToMs, List<String> outputs) {

    long auditedJudged() {
      return audited.stream().filter(t -> t.atMillis() >= judgedFromMs && t.atMillis() <= judgedToMs).count();
    }

    long vanishedJudged() {
      return vanished.stream().filter(v -> v.atMillis() >= judgedFromMs && v.atMillis() <= judgedToMs).count();
    }

    double perMinute(long count) {
      return count * 60_000.0 / (judgedToMs - judgedFromMs);
    }

    String describe(String scenario) {
      List<String> notActed = outputs.stream().map(o -> String.valueOf(count(NOT_ACTED, o))).toList();
      List<String> notStarving = outputs.stream().map(o -> first(NOT_STARVING, o)).toList();
      return String.format(Locale.ROOT, "WAR scenario=%s jar=%s audited=%d vanished=%d judged_window=%.1fs"
          + " audited_in_window=%d (%.2f/min) vanished_in_window=%d (%.2f/min) not_acted_lines=%s"
          + " mbean_not_starving=%s audited=%s vanished=%s", scenario, agentJar(), audited.size(), vanished.size(),
          (judgedToMs - judgedFromMs) / 1000.0, auditedJudged(), perMinute(auditedJudged()), vanishedJudged(),
          perMinute(vanishedJudged()), notActed, notStarving, audited, vanished);
    }
  }

  record StarvingOutcome(Set<Integer> idleServicePids, List<Termination> audited, List<Vanished> vanished,
      String starvingStdout, String idleStdout, String starvingStderr, String idleStderr) {}

  @Test
  @Timeout(value = 10, unit = TimeUnit.MINUTES)
  void twoPoolsSharingARoleDoNotKillEachOthersIdleSessions(PostgresServer server) throws Exception {
    WarFigures war = startAll(server, () -> twoPools);
    System.out.println(war.describe("two-pools"));
    assertThat(war.judgedToMs() - war.judgedFromMs()).as("judged minutes").isGreaterThanOrEqualTo(JUDGED_MS);
    String both = String.join("\n", war.outputs());
    for (String output : war.outputs()) {
      assertNoFailedBorrow(output);
    }
    assertThat(war.auditedJudged()).as("audited terminations after the first 30 s\n%s", both).isLessThanOrEqualTo(1);
    assertThat(war.vanishedJudged()).as("sessions gone from the server after the first 30 s\n%s", both)
        .isLessThanOrEqualTo(1);
    // The pressure was there: the second pool was refused and the agent said why it did not act.
    assertThat(both).contains("pg-reclaim AUDIT not-acted role=" + war.seed().role());
  }

  @Test
  @Timeout(value = 10, unit = TimeUnit.MINUTES)
  void aPoolLargerThanTheRoleLimitNeverTerminatesItsOwnSessions(PostgresServer server) throws Exception {
    WarFigures single = startAll(server, () -> singlePool);
    System.out.println(single.describe("single-pool"));
    String output = single.outputs().get(0);
    assertNoFailedBorrow(output);
    assertThat(single.audited()).as(output).isEmpty();
    assertThat(single.vanished()).as(output).isEmpty();
    assertThat(output).contains("pg-reclaim AUDIT not-acted role=" + single.seed().role())
        .containsPattern("MBEAN FailuresByCause=\\{[^}]*not-starving=[1-9]");
  }

  @Test
  @Timeout(value = 10, unit = TimeUnit.MINUTES)
  void aStarvingPoolRecoversByTerminatingTheIdleServicesSession(PostgresServer server) throws Exception {
    StarvingOutcome outcome = startAll(server, () -> starving);
    String all = "--- starving ---\n" + outcome.starvingStdout() + outcome.starvingStderr() + "--- idle ---\n"
        + outcome.idleStdout() + outcome.idleStderr();
    System.out.println("WAR scenario=starving jar=" + agentJar() + " idle_service_pids=" + outcome.idleServicePids()
        + " audited=" + outcome.audited() + " vanished=" + outcome.vanished());
    Matcher got = Pattern.compile("WAITER GOT pid=(\\d+)").matcher(outcome.starvingStdout());
    assertThat(got.find()).as(all).isTrue();
    assertThat(outcome.idleServicePids()).as(all).doesNotContain(Integer.parseInt(got.group(1)));
    // What the starving service terminated: only the idle service's sessions. (The idle service, refilling later,
    // may still act once when its pool's keepalive pings make all its idle sessions look fresh at the same time:
    // a limit of the 1 s spare rule, written in the README.)
    assertThat(outcome.audited()).as(all).filteredOn(t -> t.service().equals("starving")).isNotEmpty()
        .allSatisfy(t -> assertThat(outcome.idleServicePids()).contains(t.pid()));
    // The server saw each victim go. (The starving pool, minimumIdle 0, closes its own start-up session itself.)
    assertThat(outcome.vanished().stream().map(Vanished::pid).toList()).as(all)
        .containsAll(outcome.audited().stream().map(Termination::pid).toList());
    assertNoFailedBorrow(outcome.idleStdout() + outcome.idleStderr());
  }

  @AfterAll
  static void stopScenarios() {
    if (scenarios != null) {
      scenarios.shutdownNow();
    }
  }

  static long count(Pattern pattern, String text) {
    return pattern.matcher(text).results().count();
  }

  /** The first group of the first match, or "-" (e.g. an agent without that MBean key). */
  static String first(Pattern pattern, String text) {
    Matcher matcher = pattern.matcher(text);
    return matcher.find() ? matcher.group(1) : "-";
  }

  private static void assertNoFailedBorrow(String output) {
    Matcher done = DONE.matcher(output);
    assertThat(done.find()).as(output).isTrue();
    assertThat(Long.parseLong(done.group(1))).as(output).isPositive();
    assertThat(Long.parseLong(done.group(2))).as("failed borrows\n%s", output).isZero();
  }

  /** Starts the three scenarios on first use, in parallel, and waits for the asked one. */
  private static <T> T startAll(PostgresServer server, Callable<Future<T>> which) throws Exception {
    synchronized (NoReclaimWarIT.class) {
      if (scenarios == null) {
        scenarios = Executors.newFixedThreadPool(3);
        twoPools = scenarios.submit(() -> twoPools(server));
        singlePool = scenarios.submit(() -> singlePool(server));
        starving = scenarios.submit(() -> starving(server));
      }
    }
    return which.call().get(9, TimeUnit.MINUTES);
  }

  /**
   * Two services, one role (limit 8), pools of 5 with minimumIdle 5, light traffic; the second starts once the first
   * holds its 5 sessions, so it gets 3 and its pool keeps asking for 2 more for the whole run.
   */
  static WarFigures twoPools(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, ROLE_LIMIT);
        RoleSessionWatch watch = RoleSessionWatch.start(server, seed.role());
        AuditWatch audit = new AuditWatch(watch::millis);
        ForkedJvm.Handle a = pool(seed, "svc-a", 5, 5, "traffic", WAR_TRAFFIC_SECONDS, null).start()) {
      audit.watch("svc-a", a);
      assertThat(watch.awaitLive(5, Duration.ofSeconds(60))).as("svc-a filled its pool\n%s", a.stderr()).isTrue();
      long bothStarted = watch.millis();
      try (ForkedJvm.Handle b = pool(seed, "svc-b", 5, 5, "traffic", WAR_TRAFFIC_SECONDS, null).start()) {
        audit.watch("svc-b", b);
        Duration bound = Duration.ofSeconds(WAR_TRAFFIC_SECONDS + 90);
        awaitLine(a, "DONE", bound);
        // Both pools live on until they are told to quit: the judged window runs until the later one's traffic ends.
        awaitLine(b, "DONE", bound);
        long judgedTo = watch.millis();
        watch.close();
        audit.close();
        return new WarFigures(seed, audit.terminations(), watch.vanished(), bothStarted + SETTLE_MS, judgedTo,
            List.of(quit(a), quit(b)));
      }
    }
  }

  /** One pool of 10 with minimumIdle 10 on a role that admits 8: 2 refused refills, again and again. */
  static WarFigures singlePool(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, ROLE_LIMIT);
        RoleSessionWatch watch = RoleSessionWatch.start(server, seed.role());
        AuditWatch audit = new AuditWatch(watch::millis);
        ForkedJvm.Handle single = pool(seed, "single", 10, 10, "traffic", SINGLE_POOL_SECONDS, null).start()) {
      audit.watch("single", single);
      awaitLine(single, "DONE", Duration.ofSeconds(SINGLE_POOL_SECONDS + 90));
      long end = watch.millis();
      watch.close();
      audit.close();
      return new WarFigures(seed, audit.terminations(), watch.vanished(), 0, end, List.of(quit(single)));
    }
  }

  /**
   * A service whose pool of 5 sits idle but for light traffic, and a service whose 3 callers hold every connection
   * its pool could get (the role admits 8) in {@code pg_sleep} while a fourth waits. Both agents: min-idle 1s.
   */
  static StarvingOutcome starving(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, ROLE_LIMIT);
        RoleSessionWatch watch = RoleSessionWatch.start(server, seed.role());
        AuditWatch audit = new AuditWatch(watch::millis);
        ForkedJvm.Handle idle = pool(seed, "idle", 5, 5, "traffic", 60, "1s").start()) {
      audit.watch("idle", idle);
      assertThat(watch.awaitLive(5, Duration.ofSeconds(60))).as("the idle service filled its pool\n%s",
          idle.stderr()).isTrue();
      Set<Integer> idlePids = watch.live();
      try (ForkedJvm.Handle starved = pool(seed, "starving", 4, 0, "starve", 40, "1s").start()) {
        audit.watch("starving", starved);
        awaitLine(starved, "DONE", Duration.ofSeconds(120));
        awaitLine(idle, "DONE", Duration.ofSeconds(150));
        watch.close();
        audit.close();
        String starvedStdout = quit(starved);
        String idleStdout = quit(idle);
        return new StarvingOutcome(idlePids, audit.terminations(), watch.vanished(), starvedStdout, idleStdout,
            starved.stderr(), idle.stderr());
      }
    }
  }

  /**
   * A {@link PoolApp} JVM with the agent in terminate mode ({@code min-idle} its default unless given). Hikari's
   * housekeeper, the periodic {@code fillPool} of a pool below minimumIdle, runs every second instead of every 30 s:
   * each pool then asks again for the sessions it lacks within a second of any chance to get one, so every refill
   * that could start a war does start within the scenario's minutes, and a quiet run means the agent declined.
   */
  static ForkedJvm.Builder pool(Seed seed, String name, int size, int minimumIdle, String behaviour, int seconds,
      String minIdle) {
    AgentRun run = AgentRun.app()
        .classpath(List.of(AgentRun.testClasses(), AgentRun.appLib("postgresql-42.7.jar"),
            AgentRun.appLib("HikariCP.jar"), AgentRun.appLib("slf4j-api.jar")))
        .mainClass(PoolApp.class.getName())
        .withoutAgent()
        .jvmArg("-javaagent:" + agentJar())
        .property("com.zaxxer.hikari.housekeeping.periodMs", "1000")
        .property("pgreclaim.mode", "terminate")
        .property("pgreclaim.admin.user", seed.admin())
        .env("PGRECLAIM_ADMIN_PASSWORD", seed.adminPassword())
        .env("APP_PASSWORD", seed.rolePassword());
    if (minIdle != null) {
      run.property("pgreclaim.min-idle", minIdle);
    }
    return run.builder(seed.url(), seed.role(), name, String.valueOf(size), String.valueOf(minimumIdle), behaviour,
        String.valueOf(seconds));
  }

  /** {@code pgreclaim.war.agentJar} when given (a "before" measurement), else the jar this build packaged. */
  static Path agentJar() {
    String other = System.getProperty("pgreclaim.war.agentJar");
    if (other == null || other.isBlank()) {
      return AgentRun.agentJar();
    }
    Path jar = Path.of(other).toAbsolutePath();
    if (!Files.isRegularFile(jar)) {
      throw new IllegalStateException("pgreclaim.war.agentJar is not a file: " + jar);
    }
    return jar;
  }

  private static void awaitLine(ForkedJvm.Handle jvm, String line, Duration bound) throws InterruptedException {
    long deadline = System.nanoTime() + bound.toNanos();
    while (!jvm.stdout().contains(line)) {
      if (!jvm.isAlive() || System.nanoTime() > deadline) {
        throw new AssertionError("no '" + line + "' from " + jvm + "\n--- stdout ---\n" + jvm.stdout()
            + "\n--- stderr ---\n" + jvm.stderr());
      }
      Thread.sleep(200);
    }
  }

  /** Lets the JVM close its pool and exit; returns its whole output (stdout, then stderr). */
  private static String quit(ForkedJvm.Handle jvm) throws Exception {
    jvm.writeLine("quit");
    jvm.closeStdin();
    ForkedJvm.Result result = jvm.waitFor(Duration.ofSeconds(30));
    return result.stdout() + result.stderr();
  }
}
