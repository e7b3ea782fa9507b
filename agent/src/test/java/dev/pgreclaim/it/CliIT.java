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
import java.sql.SQLException;
import org.junit.jupiter.api.Test;

/**
 * The operator CLI as a separate process ({@code java -jar pg-reclaim-agent.jar ...}), so the nested driver loaded
 * by its private class loader is what really talks to the server.
 */
@PostgresTest
class CliIT {
  private static final String PASSWORD_ENV = "PGRECLAIM_ADMIN_PASSWORD";

  @Test
  void statusShowsTheRoleAtItsLimitAndItsSessions(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, 1);
        IdleHolder holder = IdleHolder.start(seed.url(), seed.role(), seed.rolePassword(), HoldState.IDLE,
            "forgotten-psql")) {
      ForkedJvm.Result plain = cli().env(PASSWORD_ENV, seed.adminPassword())
          .run("status", "--url", seed.url(), "--user", seed.admin());
      assertThat(plain.exitCode()).as(plain.toString()).isZero();
      assertThat(plain.stdout())
          .containsPattern("(?m)^ " + seed.role() + " +\\| +1 \\| +1 \\| +0 \\| +1 \\| .*\\| AT LIMIT$")
          .containsPattern("(?m)^ +usename +\\| +datname +\\| +backend_type +\\| +pid +\\| state \\|")
          .containsPattern("(?m)^ " + seed.role() + " +\\| " + seed.database() + " \\| client backend \\| +"
              + holder.backendPid() + " \\| idle +\\| 127\\.0\\.0\\.1 .*\\| forgotten-psql +\\| +[0-9.]+m?s$")
          .doesNotContain("\u001b[");

      ForkedJvm.Result coloured = cli().env(PASSWORD_ENV, seed.adminPassword())
          .run("status", "--url", seed.url(), "--user", seed.admin(), "--role", seed.role(), "--color", "always");
      assertThat(coloured.stdout()).contains("\u001b[1;31m " + seed.role());

      ForkedJvm.Result json = cli().env(PASSWORD_ENV, seed.adminPassword())
          .run("status", "--url", seed.url(), "--user", seed.admin(), "--role", seed.role(), "--json");
      assertThat(json.exitCode()).as(json.toString()).isZero();
      assertThat(json.stdout().trim())
          .startsWith("{\"roles\":[{\"role\":\"" + seed.role() + "\",\"connection_limit\":1,\"superuser\":false,"
              + "\"current\":1,\"active\":0,\"idle\":1,\"idle_in_transaction\":0,\"hidden\":0,\"at_limit\":true,"
              + "\"near_limit\":false}],\"sessions\":[{\"usename\":\"" + seed.role() + "\"")
          .contains("\"pid\":" + holder.backendPid() + ",\"state\":\"idle\",\"client_addr\":\"127.0.0.1\"")
          .contains("\"application_name\":\"forgotten-psql\",\"idle_ms\":")
          .endsWith("}]}");
    }
  }

  @Test
  void reclaimTerminatesTheIdleSessionAndPrintsTheAuditLine(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, 1);
        IdleHolder holder = IdleHolder.start(seed.url(), seed.role(), seed.rolePassword(), HoldState.IDLE,
            "forgotten-psql")) {
      IdleHolder.awaitSettled(server, 300, holder);
      Path passwordFile = Files.createTempFile("pg-reclaim-admin-", ".pw");
      try {
        Files.writeString(passwordFile, seed.adminPassword() + "\n");
        ForkedJvm.Result result = cli().run("reclaim", "--role", seed.role(), "--min-idle", "200ms", "--url",
            seed.url(), "--user", seed.admin(), "--password-file", passwordFile.toString());

        assertThat(result.exitCode()).as(result.toString()).isZero();
        assertThat(result.stdout()).startsWith("pg-reclaim AUDIT terminated pid=" + holder.backendPid() + " role="
            + seed.role() + " database=" + seed.database() + " application_name='forgotten-psql' client=127.0.0.1:")
            .contains(" reason=\"manual reclaim by " + System.getProperty("user.name") + " via CLI;")
            .contains("count=1/1");
        assertThat(sessionExists(seed, holder.backendPid())).isFalse();
        assertThat(result.stdout() + result.stderr()).doesNotContain(seed.adminPassword());
      } finally {
        Files.deleteIfExists(passwordFile);
      }
    }
  }

  @Test
  void dryRunNamesTheWouldBeVictimAndSparesIt(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, 1);
        IdleHolder holder = IdleHolder.start(seed.url(), seed.role(), seed.rolePassword(), HoldState.IDLE,
            "forgotten-psql")) {
      IdleHolder.awaitSettled(server, 300, holder);
      ForkedJvm.Result result = cli().env(PASSWORD_ENV, seed.adminPassword()).run("reclaim", "--role", seed.role(),
          "--min-idle", "200ms", "--dry-run", "--url", seed.url(), "--user", seed.admin());

      assertThat(result.exitCode()).as(result.toString()).isZero();
      assertThat(result.stdout()).startsWith("pg-reclaim DRY-RUN would terminate pid=" + holder.backendPid())
          .doesNotContain("AUDIT");
      assertThat(sessionExists(seed, holder.backendPid())).isTrue();
    }
  }

  @Test
  void nothingEligibleExitsOneAndSaysWhy(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, 2);
        IdleHolder inTransaction = IdleHolder.start(seed.url(), seed.role(), seed.rolePassword(),
            HoldState.IDLE_IN_TRANSACTION, "stuck-job");
        IdleHolder protectedOne = IdleHolder.start(seed.url(), seed.role(), seed.rolePassword(), HoldState.IDLE,
            "batch-scheduler")) {
      IdleHolder.awaitSettled(server, 300, inTransaction, protectedOne);
      ForkedJvm.Result result = cli().env(PASSWORD_ENV, seed.adminPassword()).run("reclaim", "--role", seed.role(),
          "--min-idle", "200ms", "--protect-application-names", "batch-*", "--url", seed.url(), "--user",
          seed.admin());

      assertThat(result.exitCode()).as(result.toString()).isEqualTo(1);
      assertThat(result.stderr()).contains("nothing to reclaim: no eligible session of role " + seed.role()
          + ": 2 session(s), 0 active, 1 idle");
      assertThat(result.stdout()).doesNotContain("AUDIT");
      assertThat(sessionExists(seed, inTransaction.backendPid())).isTrue();
      assertThat(sessionExists(seed, protectedOne.backendPid())).isTrue();
    }
  }

  @Test
  void missingPrivilegesExitTwoAndNameTheGrant(PostgresServer server) throws Exception {
    String noSignal = "pgr_nosig_" + suffix();
    String noStats = "pgr_nostats_" + suffix();
    String password = "pw" + suffix() + suffix();
    try (Seed seed = TestDatabase.seed(server, 1);
        IdleHolder holder = IdleHolder.start(seed.url(), seed.role(), seed.rolePassword(), HoldState.IDLE,
            "forgotten-psql")) {
      server.execute("postgres",
          "create role " + noSignal + " login password '" + password + "'",
          "grant pg_read_all_stats to " + noSignal,
          "create role " + noStats + " login password '" + password + "'",
          "grant pg_signal_backend to " + noStats);
      IdleHolder.awaitSettled(server, 300, holder);

      ForkedJvm.Result withoutSignal = cli().env(PASSWORD_ENV, password).run("reclaim", "--role", seed.role(),
          "--min-idle", "200ms", "--url", seed.url(), "--user", noSignal);
      assertThat(withoutSignal.exitCode()).as(withoutSignal.toString()).isEqualTo(2);
      assertThat(withoutSignal.stderr()).contains("SQLState 42501").contains("GRANT pg_signal_backend TO " + noSignal);
      assertThat(withoutSignal.stdout()).doesNotContain("AUDIT");

      ForkedJvm.Result withoutStats = cli().env(PASSWORD_ENV, password).run("reclaim", "--role", seed.role(),
          "--min-idle", "200ms", "--url", seed.url(), "--user", noStats);
      assertThat(withoutStats.exitCode()).as(withoutStats.toString()).isEqualTo(2);
      assertThat(withoutStats.stderr()).contains("sees no state for 1 session(s) of role " + seed.role())
          .contains("state hidden").contains("GRANT pg_read_all_stats TO " + noStats);

      assertThat(sessionExists(seed, holder.backendPid())).isTrue();
    } finally {
      dropRoles(server, noSignal, noStats);
    }
  }

  @Test
  void refusedLoginBadUrlAndUnreachableServerExitTwo(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, 1)) {
      ForkedJvm.Result refused = cli().env(PASSWORD_ENV, "wrong-" + seed.adminPassword())
          .run("status", "--url", seed.url(), "--user", seed.admin());
      assertThat(refused.exitCode()).as(refused.toString()).isEqualTo(2);
      assertThat(refused.stderr()).contains("login refused for role " + seed.admin() + " (SQLState 28P01)");
      assertThat(refused.stdout()).isEmpty();

      ForkedJvm.Result notPostgres = cli().env(PASSWORD_ENV, seed.adminPassword())
          .run("status", "--url", "jdbc:mysql://localhost/x", "--user", seed.admin());
      assertThat(notPostgres.exitCode()).isEqualTo(2);
      assertThat(notPostgres.stderr()).contains("bad URL in --url").doesNotContain("localhost/x");

      ForkedJvm.Result badPort = cli().env(PASSWORD_ENV, seed.adminPassword())
          .run("reclaim", "--role", seed.role(), "--url", "jdbc:postgresql://127.0.0.1:notaport/x", "--user",
              seed.admin());
      assertThat(badPort.exitCode()).isEqualTo(2);
      assertThat(badPort.stderr()).contains("bad URL").doesNotContain("WARNING");

      ForkedJvm.Result down = cli().env(PASSWORD_ENV, seed.adminPassword())
          .run("status", "--url", "jdbc:postgresql://127.0.0.1:1/x", "--user", seed.admin());
      assertThat(down.exitCode()).isEqualTo(2);
      assertThat(down.stderr()).contains("cannot reach the server").contains("SQLState 08001");
    }
  }

  @Test
  void everyCommandHasHelpAndUsageErrorsExitTwo() throws Exception {
    ForkedJvm.Result top = cli().run("--help");
    assertThat(top.exitCode()).isZero();
    assertThat(top.stdout()).contains("status").contains("reclaim").contains("attach").contains("Exit codes");
    for (String command : new String[] {"status", "reclaim", "attach"}) {
      ForkedJvm.Result help = cli().run(command, "--help");
      assertThat(help.exitCode()).as(help.toString()).isZero();
      assertThat(help.stdout()).startsWith("Usage: java -jar pg-reclaim-agent.jar " + command)
          .contains("Exit codes");
    }
    ForkedJvm.Result reclaimHelp = cli().run("help", "reclaim");
    assertThat(reclaimHelp.stdout()).contains("--min-idle D").contains("default: 10s")
        .contains("--protect-application-names").contains("--protect-users").contains("--protect-databases");

    ForkedJvm.Result unknown = cli().run("reclaim", "--role", "x", "--force");
    assertThat(unknown.exitCode()).isEqualTo(2);
    assertThat(unknown.stderr()).contains("unknown option --force");
    ForkedJvm.Result password = cli().run("status", "--password", "secret");
    assertThat(password.exitCode()).isEqualTo(2);
    assertThat(password.stderr()).contains("there is no --password option");
  }

  private static String suffix() {
    return Long.toString(Math.abs(new java.security.SecureRandom().nextLong()), 36).substring(0, 8);
  }

  private static void dropRoles(PostgresServer server, String... roles) {
    for (String role : roles) {
      try {
        server.execute("postgres", "drop role if exists " + role);
      } catch (SQLException | RuntimeException ignored) {
        // best effort
      }
    }
  }
}
