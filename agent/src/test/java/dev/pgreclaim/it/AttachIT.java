package dev.pgreclaim.it;

import static dev.pgreclaim.it.CliRun.cli;
import static dev.pgreclaim.it.SeedScenarioIT.sessionExists;
import static org.assertj.core.api.Assertions.assertThat;

import dev.pgreclaim.reclaim.VictimQuery;
import dev.pgreclaim.testkit.ForkedJvm;
import dev.pgreclaim.testkit.IdleHolder;
import dev.pgreclaim.testkit.IdleHolder.HoldState;
import dev.pgreclaim.testkit.PostgresServer;
import dev.pgreclaim.testkit.PostgresTest;
import dev.pgreclaim.testkit.TestDatabase;
import dev.pgreclaim.testkit.TestDatabase.Seed;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code java -jar pg-reclaim-agent.jar attach <pid> ...} into an application JVM that started without the agent and
 * had already loaded {@code org.postgresql.Driver}: the driver is retransformed and the next refused open recovers.
 * A later attach replaces the running policy (also one started with {@code -javaagent}): {@code mode=off} stops
 * reclaiming at once, an invalid policy changes nothing and the command says so, and the command prints what the
 * target runs afterwards.
 */
@PostgresTest
class AttachIT {
  private static final Pattern RESPONSE = Pattern.compile("(?m)^(CONNECTED|FAILED) .*\n");

  static Stream<Arguments> javas() {
    return ForkedJvm.javaBinaries().stream().map(java -> Arguments.of(java.getParent().getParent().getFileName()
        .toString(), java));
  }

  @ParameterizedTest(name = "application on {0}")
  @MethodSource("javas")
  void attachedAgentRecoversTheNextRefusedOpenAndASecondAttachWithModeOffStopsIt(String javaName, Path java,
      PostgresServer server) throws Exception {
    Path passwordFile = Files.createTempFile("pg-reclaim-admin-", ".pw");
    try (Seed seed = TestDatabase.seed(server, 1);
        ForkedJvm.Handle app = AgentRun.app().java(java).withoutAgent().mainClass(AttachApp.class.getName())
            .env("APP_PASSWORD", seed.rolePassword()).builder(seed.url(), seed.role()).start()) {
      Files.writeString(passwordFile, seed.adminPassword() + "\n");
      String appPid = appPid(app);

      try (IdleHolder holder = IdleHolder.start(seed.url(), seed.role(), seed.rolePassword(), HoldState.IDLE,
          "forgotten-psql")) {
        IdleHolder.awaitSettled(server, 300, holder);
        // Control: without the agent the application gets the 53300.
        assertThat(open(app)).startsWith("FAILED sqlstate=53300");

        ForkedJvm.Result attach = cli().run("attach", appPid, "mode=terminate", "admin.user=" + seed.admin(),
            "pgreclaim.min-idle=200ms", "admin.password-file=" + passwordFile);
        assertThat(attach.exitCode()).as(attach.toString()).isZero();
        assertThat(attach.stdout()).contains("JVM " + appPid + " now runs: mode=terminate")
            .contains("admin.user=" + seed.admin()).contains("admin.password=******");

        assertThat(open(app)).startsWith("CONNECTED backend_pid=");
        assertThat(app.stderr())
            .contains("pg-reclaim AUDIT terminated pid=" + holder.backendPid() + " role=" + seed.role())
            .contains("application_name='forgotten-psql'")
            .doesNotContain(seed.adminPassword());
        assertThat(sessionExists(seed, holder.backendPid())).isFalse();
      }
      // The reclaim kept its admin session open (keep-alive 30s); the replacement closes it.
      assertThat(adminSessions(seed)).isEqualTo(1);

      ForkedJvm.Result off = cli().run("attach", appPid, "mode=off");
      assertThat(off.exitCode()).as(off.toString()).isZero();
      assertThat(off.stdout()).contains("JVM " + appPid + " now runs: mode=off")
          .contains("agent inactive: nothing is reclaimed");
      awaitTrue(() -> adminSessions(seed) == 0, "the old reclaimer's admin session closed");

      // The application's own connection is now the role's only, idle, eligible session: terminate mode would take
      // it. With mode=off the open gets its 53300 and nothing is terminated.
      Thread.sleep(300);
      assertThat(open(app)).startsWith("FAILED sqlstate=53300").doesNotContain("SUPPRESSED");
      assertThat(app.stdout()).doesNotContain("SUPPRESSED");
      assertThat(countOf(app.stderr(), "pg-reclaim AUDIT terminated")).isEqualTo(1);
      assertThat(app.stderr()).contains("pgreclaim.mode=off set by attach");
      app.writeLine("STOP");
    } finally {
      Files.deleteIfExists(passwordFile);
    }
  }

  @ParameterizedTest(name = "application on {0}")
  @MethodSource("javas")
  void attachAfterJavaagentReplacesThePolicyAndAnInvalidOneChangesNothing(String javaName, Path java,
      PostgresServer server) throws Exception {
    Path passwordFile = Files.createTempFile("pg-reclaim-admin-", ".pw");
    try (Seed seed = TestDatabase.seed(server, 1);
        ForkedJvm.Handle app = AgentRun.app().java(java).terminating(seed).property("pgreclaim.deadline", "5s")
            .mainClass(AttachApp.class.getName()).builder(seed.url(), seed.role()).start()) {
      Files.writeString(passwordFile, seed.adminPassword() + "\n");
      String appPid = appPid(app);

      try (IdleHolder holder = IdleHolder.start(seed.url(), seed.role(), seed.rolePassword(), HoldState.IDLE,
          "forgotten-psql")) {
        Thread.sleep(300);
        assertThat(open(app)).startsWith("CONNECTED backend_pid=");
        assertThat(sessionExists(seed, holder.backendPid())).isFalse();
      }
      assertThat(mbean(app, "EffectivePolicy=mode=terminate")).contains("Terminations=1");

      ForkedJvm.Result off = cli().run("attach", appPid, "mode=off");
      assertThat(off.exitCode()).as(off.toString()).isZero();
      assertThat(off.stdout()).contains("now runs: mode=off");
      Thread.sleep(300);
      assertThat(open(app)).as("mode=off during an incident: nothing is reclaimed").startsWith("FAILED sqlstate=53300");
      assertThat(mbean(app, "EffectivePolicy=mode=off")).contains("Terminations=1");

      // Valid on its own (the default deadline is 2s), refused by the target, whose -D deadline is 5s.
      ForkedJvm.Result invalid = cli().run("attach", appPid, "mode=terminate", "admin.user=" + seed.admin(),
          "min-idle=200ms", "budget=10/3s", "admin.password-file=" + passwordFile);
      assertThat(invalid.exitCode()).as(invalid.toString()).isEqualTo(2);
      assertThat(invalid.stderr()).contains("JVM " + appPid + " refused the policy, nothing changed there")
          .contains("pgreclaim.budget='10/3s' is invalid").contains("shorter than pgreclaim.deadline (5s)")
          .contains("it still runs: mode=off");
      assertThat(open(app)).as("the running policy (off) stays").startsWith("FAILED sqlstate=53300");
      assertThat(mbean(app, "EffectivePolicy=mode=off")).contains("Terminations=1");

      ForkedJvm.Result on = cli().run("attach", appPid, "mode=terminate", "admin.user=" + seed.admin(),
          "min-idle=200ms", "admin.password-file=" + passwordFile);
      assertThat(on.exitCode()).as(on.toString()).isZero();
      assertThat(on.stdout()).contains("now runs: mode=terminate").contains("min-idle=200ms");
      // the application's own idle connection is the victim now
      assertThat(open(app)).startsWith("CONNECTED backend_pid=");
      assertThat(mbean(app, "EffectivePolicy=mode=terminate")).contains("Terminations=2")
          .contains("admin.password=******");
      assertThat(countOf(app.stderr(), "pg-reclaim AUDIT terminated")).isEqualTo(2);

      String everything = app.stdout() + app.stderr() + off + invalid + on;
      assertThat(everything).doesNotContain(seed.adminPassword());
      app.writeLine("STOP");
    } finally {
      Files.deleteIfExists(passwordFile);
    }
  }

  @Test
  void invalidPolicyIsRefusedBeforeAttaching() throws Exception {
    ForkedJvm.Result unknownKey = cli().run("attach", "1", "mode=terminate", "admin.user=x", "min-idel=1s");
    assertThat(unknownKey.exitCode()).isEqualTo(2);
    assertThat(unknownKey.stderr()).contains("'min-idel' is not a pg-reclaim property");

    ForkedJvm.Result badValue = cli().run("attach", "1", "mode=terminate", "admin.user=x", "min-idle=soon");
    assertThat(badValue.exitCode()).isEqualTo(2);
    assertThat(badValue.stderr()).contains("pgreclaim.min-idle='soon' is invalid").contains("nothing attached");

    ForkedJvm.Result password = cli().run("attach", "1", "admin.password=secret");
    assertThat(password.exitCode()).isEqualTo(2);
    assertThat(password.stderr()).contains("refused on the command line").doesNotContain("secret");
  }

  private static String appPid(ForkedJvm.Handle app) throws Exception {
    String ready = await(app, out -> out.contains("READY "), "READY");
    return ready.substring(ready.indexOf("READY ") + 6).trim().split("\\s")[0];
  }

  /** One OPEN; returns its response line and any SUPPRESSED lines after it. */
  private static String open(ForkedJvm.Handle app) throws Exception {
    int from = app.stdout().length();
    app.writeLine("OPEN");
    String out = await(app, text -> RESPONSE.matcher(text.substring(from)).find(), "a response to OPEN");
    Thread.sleep(50); // the SUPPRESSED lines follow the response line in the same flush
    return app.stdout().substring(from);
  }

  /** Polls the MBean until its EffectivePolicy starts as expected; returns all its attributes. */
  private static String mbean(ForkedJvm.Handle app, String expected) throws Exception {
    long deadline = System.nanoTime() + 30_000_000_000L;
    String last = "";
    while (System.nanoTime() < deadline) {
      int from = app.stdout().length();
      app.writeLine("MBEAN");
      String out = await(app, text -> text.indexOf("MBEAN END", from) >= 0 || text.indexOf("MBEAN none", from) >= 0,
          "MBEAN output");
      last = out.substring(from);
      if (last.contains("MBEAN " + expected)) {
        return last;
      }
      Thread.sleep(100);
    }
    throw new AssertionError("MBean never showed " + expected + "; last:\n" + last);
  }

  private static int countOf(String text, String part) {
    int count = 0;
    for (int at = text.indexOf(part); at >= 0; at = text.indexOf(part, at + part.length())) {
      count++;
    }
    return count;
  }

  private static int adminSessions(Seed seed) throws SQLException {
    try (Connection superuser = seed.server().connectAsSuperuser("postgres");
        PreparedStatement statement = superuser.prepareStatement("select count(*) from pg_stat_activity"
            + " where usename = ? and application_name = ?")) {
      statement.setString(1, seed.admin());
      statement.setString(2, VictimQuery.ADMIN_APPLICATION_NAME);
      try (ResultSet rows = statement.executeQuery()) {
        rows.next();
        return rows.getInt(1);
      }
    }
  }

  interface Check {
    boolean holds() throws Exception;
  }

  private static void awaitTrue(Check check, String what) throws Exception {
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (System.nanoTime() < deadline) {
      if (check.holds()) {
        return;
      }
      Thread.sleep(50);
    }
    throw new AssertionError("not within 10 s: " + what);
  }

  private static String await(ForkedJvm.Handle app, Predicate<String> condition, String what) throws Exception {
    long deadline = System.nanoTime() + 30_000_000_000L;
    while (System.nanoTime() < deadline) {
      String out = app.stdout();
      if (condition.test(out)) {
        return out;
      }
      if (!app.isAlive()) {
        break;
      }
      Thread.sleep(20);
    }
    throw new AssertionError("no " + what + " from the application\n--- stdout ---\n" + app.stdout()
        + "\n--- stderr ---\n" + app.stderr());
  }
}
