package dev.pgreclaim.it;

import static dev.pgreclaim.it.CliRun.cli;
import static dev.pgreclaim.policy.AdminUrlCheckTest.SECRET;
import static org.assertj.core.api.Assertions.assertThat;

import dev.pgreclaim.policy.AdminUrlCheckTest;
import dev.pgreclaim.testkit.ForkedJvm;
import dev.pgreclaim.testkit.IdleHolder;
import dev.pgreclaim.testkit.IdleHolder.HoldState;
import dev.pgreclaim.testkit.PostgresServer;
import dev.pgreclaim.testkit.PostgresTest;
import dev.pgreclaim.testkit.TestDatabase;
import dev.pgreclaim.testkit.TestDatabase.Seed;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Secrets in URLs never echo: every form of {@code AdminUrlCheckTest#secretForms} given as
 * {@code pgreclaim.admin.url} to an agent JVM (as {@code -D} property or environment twin), as {@code --url} to the
 * CLI's {@code status} (every third also to {@code reclaim} and as {@code admin.url=} to {@code attach}), is
 * refused with an error that names the property or option; all output of each run (stdout, stderr with the
 * agent's lines, the refused open's exception and its suppressed exceptions, the MBean) is searched for the secret.
 */
@PostgresTest
class UrlSecretsIT {

  @Test
  void anAgentJvmRefusesEveryFormAndNothingItPrintsContainsTheSecret(PostgresServer server) throws Exception {
    List<String> forms = AdminUrlCheckTest.secretForms();
    try (Seed seed = TestDatabase.seed(server, 1)) {
      for (int i = 0; i < forms.size(); i++) {
        String url = forms.get(i);
        AgentRun run = AgentRun.app().terminating(seed).mainClass(AttachApp.class.getName());
        run = i % 2 == 0 ? run.property("pgreclaim.admin.url", url) : run.env("PGRECLAIM_ADMIN_URL", url);
        try (ForkedJvm.Handle app = run.builder(seed.url(), seed.role()).start()) {
          awaitOutput(app, "READY "); // its first connection is closed: the role's only slot is free again
          try (IdleHolder holder = IdleHolder.start(seed.url(), seed.role(), seed.rolePassword(), HoldState.IDLE,
              "would-be-victim")) {
            checkRun(app, url, seed, holder);
          }
        }
      }
    }
  }

  private static void checkRun(ForkedJvm.Handle app, String url, Seed seed, IdleHolder holder) throws Exception {
    Thread.sleep(300);
    app.writeLine("OPEN");
    app.writeLine("MBEAN");
    app.writeLine("STOP");
    ForkedJvm.Result result = app.waitFor(java.time.Duration.ofSeconds(60));
    String all = result.stdout() + result.stderr();
    assertThat(result.stdout()).as(url).contains("FAILED sqlstate=53300").contains("MBEAN none");
    assertThat(result.stderr()).as(url).contains("invalid configuration, agent inactive")
        .contains("pgreclaim.admin.url is invalid (value not shown)");
    assertThat(all).as(url).doesNotContain(SECRET).doesNotContain(SECRET.substring(0, 6));
    assertThat(sessionAlive(seed, holder.backendPid())).isTrue();
  }

  @Test
  void theCliRefusesEveryFormAsUrlOptionAndAsAttachArgumentWithoutPrintingTheSecret() throws Exception {
    List<String> forms = AdminUrlCheckTest.secretForms();
    for (int i = 0; i < forms.size(); i++) {
      String url = forms.get(i);
      List<ForkedJvm.Result> results = new ArrayList<>();
      ForkedJvm.Result status = cli().env("PGRECLAIM_ADMIN_PASSWORD", "not-the-secret")
          .run("status", "--url", url, "--user", "pgr_admin");
      assertThat(status.exitCode()).as(status.toString()).isEqualTo(2);
      assertThat(status.stderr()).contains("bad URL in --url (not shown here)");
      results.add(status);
      // reclaim and attach reach the same two checks (AdminLogin.checkedUrl, PolicyParser): every third form
      if (i % 3 == 0) {
        ForkedJvm.Result reclaim = cli().run("reclaim", "--url", url, "--user", "pgr_admin", "--role", "app");
        assertThat(reclaim.exitCode()).as(reclaim.toString()).isEqualTo(2);
        ForkedJvm.Result attach = cli().run("attach", "1", "mode=observe", "admin.url=" + url);
        assertThat(attach.exitCode()).as(attach.toString()).isEqualTo(2);
        assertThat(attach.stderr()).contains("admin.url");
        results.add(reclaim);
        results.add(attach);
      }
      for (ForkedJvm.Result result : results) {
        assertThat(result.stdout() + result.stderr()).as(url).doesNotContain(SECRET)
            .doesNotContain(SECRET.substring(0, 6));
      }
    }
  }

  private static boolean sessionAlive(Seed seed, int pid) throws Exception {
    return SeedScenarioIT.sessionExists(seed, pid);
  }

  private static void awaitOutput(ForkedJvm.Handle app, String marker) throws Exception {
    long deadline = System.nanoTime() + 30_000_000_000L;
    while (!app.stdout().contains(marker)) {
      if (System.nanoTime() > deadline || !app.isAlive()) {
        throw new AssertionError("no " + marker + "\n" + app.stdout() + "\n" + app.stderr());
      }
      Thread.sleep(20);
    }
  }
}
