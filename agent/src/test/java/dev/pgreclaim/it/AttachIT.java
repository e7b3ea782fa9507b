package dev.pgreclaim.it;

import static dev.pgreclaim.it.CliRun.cli;
import static dev.pgreclaim.it.SeedScenarioIT.sessionExists;
import static org.assertj.core.api.Assertions.assertThat;

import dev.pgreclaim.testkit.ForkedJvm;
import dev.pgreclaim.testkit.IdleHolder;
import dev.pgreclaim.testkit.IdleHolder.HoldState;
import dev.pgreclaim.testkit.PostgresServer;
import dev.pgreclaim.testkit.PostgresTest;
import dev.pgreclaim.testkit.TestDatabase;
import dev.pgreclaim.testkit.TestDatabase.Seed;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code java -jar pg-reclaim-agent.jar attach <pid> ...} into an application JVM that started without the agent and
 * had already loaded {@code org.postgresql.Driver}: the driver is retransformed and the next refused open recovers.
 */
@PostgresTest
class AttachIT {

  static Stream<Arguments> javas() {
    return ForkedJvm.javaBinaries().stream().map(java -> Arguments.of(java.getParent().getParent().getFileName()
        .toString(), java));
  }

  @ParameterizedTest(name = "application on {0}")
  @MethodSource("javas")
  void attachedAgentRecoversTheNextRefusedOpen(String javaName, Path java, PostgresServer server) throws Exception {
    Path passwordFile = Files.createTempFile("pg-reclaim-admin-", ".pw");
    try (Seed seed = TestDatabase.seed(server, 1);
        ForkedJvm.Handle app = AgentRun.app().java(java).withoutAgent().mainClass(AttachApp.class.getName())
            .env("APP_PASSWORD", seed.rolePassword()).builder(seed.url(), seed.role()).start()) {
      Files.writeString(passwordFile, seed.adminPassword() + "\n");
      String ready = await(app, out -> out.contains("READY "), "READY");
      String appPid = ready.substring(ready.indexOf("READY ") + 6).trim().split("\\s")[0];

      try (IdleHolder holder = IdleHolder.start(seed.url(), seed.role(), seed.rolePassword(), HoldState.IDLE,
          "forgotten-psql")) {
        IdleHolder.awaitSettled(server, 300, holder);
        // Control: without the agent the application gets the 53300.
        app.writeLine("OPEN");
        await(app, out -> out.contains("FAILED sqlstate=53300"), "FAILED sqlstate=53300 before attach");

        ForkedJvm.Result attach = cli().run("attach", appPid, "mode=terminate", "admin.user=" + seed.admin(),
            "pgreclaim.min-idle=200ms", "admin.password-file=" + passwordFile);
        assertThat(attach.exitCode()).as(attach.toString()).isZero();
        assertThat(attach.stdout()).contains("loaded into JVM " + appPid);

        app.writeLine("OPEN");
        await(app, out -> out.contains("CONNECTED backend_pid="), "CONNECTED after attach");
        System.out.println("--- application stderr ---\n" + app.stderr());
        assertThat(app.stderr())
            .contains("pg-reclaim AUDIT terminated pid=" + holder.backendPid() + " role=" + seed.role())
            .contains("application_name='forgotten-psql'")
            .doesNotContain(seed.adminPassword());
        assertThat(sessionExists(seed, holder.backendPid())).isFalse();
      }
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
