package dev.pgreclaim.springapp;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgreclaim.testkit.ForkedJvm;
import dev.pgreclaim.testkit.IdleHolder;
import dev.pgreclaim.testkit.IdleHolder.HoldState;
import dev.pgreclaim.testkit.PostgresServer;
import dev.pgreclaim.testkit.PostgresTest;
import dev.pgreclaim.testkit.TestDatabase;
import dev.pgreclaim.testkit.TestDatabase.Seed;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 12: a real Spring Boot application (the executable jar of this module, HikariCP) run as a separate JVM with
 * {@code java -jar}, configured only through {@code spring.datasource.url=jdbc:pgreclaim:postgresql://...?pgreclaim.*},
 * {@code spring.datasource.driver-class-name} and the admin password in the environment: no agent, no pg-reclaim
 * system property. The role's limit is full of idle sessions that two other processes hold.
 */
@PostgresTest
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class SpringAppIT {
  static final int ROLE_LIMIT = 2;
  static final Duration APP_TIMEOUT = Duration.ofSeconds(60);
  static final String DRIVER = "dev.pgreclaim.jdbc.PgReclaimDriver";
  static final String AUDIT_TERMINATED = "pg-reclaim AUDIT terminated pid=";
  static final Pattern CONNECTED = Pattern.compile("spring-app: connected pid=(\\d+) via (HikariPool-\\S+)");
  static final Pattern TERMINATED = Pattern.compile(Pattern.quote(AUDIT_TERMINATED) + "(\\d+)");

  record AppRun(int exitCode, String output) {}

  @Test
  void theWrapperUrlAloneReclaimsOneIdleSessionAndHikariGetsItsConnection(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, ROLE_LIMIT);
        IdleHolder first = IdleHolder.start(seed.url(), seed.role(), seed.rolePassword(), HoldState.IDLE,
            "forgotten-psql-1");
        IdleHolder second = IdleHolder.start(seed.url(), seed.role(), seed.rolePassword(), HoldState.IDLE,
            "forgotten-psql-2")) {
      IdleHolder.awaitSettled(server, 300, first, second);
      assertThat(roleSessions(seed)).containsExactlyInAnyOrder(first.backendPid(), second.backendPid());

      AppRun run = runApp(seed, "terminate");

      Matcher connected = CONNECTED.matcher(run.output());
      assertThat(connected.find()).as(run.output()).isTrue();
      assertThat(run.exitCode()).as(run.output()).isZero();
      int appPid = Integer.parseInt(connected.group(1));
      assertThat(appPid).isNotIn(first.backendPid(), second.backendPid());

      List<Integer> audited = new ArrayList<>();
      for (Matcher m = TERMINATED.matcher(run.output()); m.find(); ) {
        audited.add(Integer.parseInt(m.group(1)));
      }
      assertThat(audited).as(run.output()).hasSize(1);
      // the longest-idle session: the first holder went idle before the second one started
      assertThat(audited.get(0)).isEqualTo(first.backendPid());
      assertThat(run.output()).contains("application_name='forgotten-psql-1'");
      // the server's word, not only the log's: exactly the audited holder session is gone, the other one stays
      assertThat(roleSessionsWithout(seed, appPid)).containsExactly(second.backendPid());
      assertThat(run.output()).doesNotContain(seed.adminPassword()).doesNotContain(seed.rolePassword());
    }
  }

  /** The control: the same application, URL and roles with {@code pgreclaim.mode=off} get plain pgjdbc's 53300. */
  @Test
  void withModeOffTheSameAppGetsTheRoleLimitAndNothingIsTerminated(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, ROLE_LIMIT);
        IdleHolder first = IdleHolder.start(seed.url(), seed.role(), seed.rolePassword(), HoldState.IDLE,
            "forgotten-psql-1");
        IdleHolder second = IdleHolder.start(seed.url(), seed.role(), seed.rolePassword(), HoldState.IDLE,
            "forgotten-psql-2")) {
      IdleHolder.awaitSettled(server, 300, first, second);

      AppRun run = runApp(seed, "off");

      assertThat(run.output()).as(run.output()).contains("spring-app: failed sqlstate=53300")
          .doesNotContain("spring-app: connected").doesNotContain(AUDIT_TERMINATED);
      assertThat(run.exitCode()).as(run.output()).isEqualTo(1);
      assertThat(roleSessions(seed)).containsExactlyInAnyOrder(first.backendPid(), second.backendPid());
      assertThat(run.output()).doesNotContain(seed.adminPassword()).doesNotContain(seed.rolePassword());
    }
  }

  /**
   * {@code java -jar} on the packaged application. Every pg-reclaim setting travels in the datasource URL, except the
   * admin password (refused there), which goes in the environment like the role's password; the child inherits
   * nothing else of this JVM's environment ({@link ForkedJvm#childEnvironment}).
   */
  static AppRun runApp(Seed seed, String mode) throws IOException, InterruptedException {
    String url = "jdbc:pgreclaim:" + seed.url().substring("jdbc:".length()) + "?pgreclaim.mode=" + mode
        + "&pgreclaim.admin.user=" + seed.admin() + "&pgreclaim.min-idle=200ms";
    List<String> command = List.of(ForkedJvm.currentJava().toString(), "-XX:TieredStopAtLevel=1", "-Xshare:auto",
        "-jar", appJar().toString(),
        "--spring.datasource.url=" + url,
        "--spring.datasource.driver-class-name=" + DRIVER,
        "--spring.datasource.username=" + seed.role(),
        // one pooled connection, so the app makes exactly one open and the pool never tops itself up
        "--spring.datasource.hikari.minimum-idle=1",
        "--spring.datasource.hikari.maximum-pool-size=1");
    ProcessBuilder builder = new ProcessBuilder(command);
    builder.environment().clear();
    builder.environment().putAll(ForkedJvm.childEnvironment(System.getenv(), Map.of(
        "PGRECLAIM_ADMIN_PASSWORD", seed.adminPassword(),
        "SPRING_DATASOURCE_PASSWORD", seed.rolePassword())));
    Path output = Files.createTempFile("spring-app-", ".out");
    builder.redirectErrorStream(true).redirectOutput(output.toFile());
    Process process = builder.start();
    try {
      boolean exited = process.waitFor(APP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      String text = Files.readString(output, StandardCharsets.UTF_8);
      System.out.println("--- spring-app (mode=" + mode + ") ---\n" + text);
      if (!exited) {
        throw new IllegalStateException("spring-app did not exit within " + APP_TIMEOUT + ":\n" + text);
      }
      return new AppRun(process.exitValue(), text);
    } finally {
      process.destroyForcibly();
      Files.deleteIfExists(output);
    }
  }

  static Path appJar() {
    Path jar = Path.of(System.getProperty("pgreclaim.test.springAppJar", "target/pg-reclaim-spring-app.jar"));
    if (!Files.isRegularFile(jar)) {
      throw new IllegalStateException("application jar not built: " + jar.toAbsolutePath() + " (run mvn verify)");
    }
    return jar.toAbsolutePath();
  }

  /**
   * The role's sessions once the app's own backend has left (it exits after its client is gone, not with it), polled
   * for at most 10 s.
   */
  static List<Integer> roleSessionsWithout(Seed seed, int appPid) throws SQLException, InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    List<Integer> pids = roleSessions(seed);
    while (pids.contains(appPid) && System.nanoTime() < deadline) {
      Thread.sleep(20);
      pids = roleSessions(seed);
    }
    assertThat(pids).as("the app's backend %d still there after 10 s", appPid).doesNotContain(appPid);
    return pids;
  }

  /** Backend pids of the role's sessions, as the server sees them. */
  static List<Integer> roleSessions(Seed seed) throws SQLException {
    try (Connection superuser = seed.server().connectAsSuperuser("postgres");
        PreparedStatement statement = superuser.prepareStatement(
            "select pid from pg_stat_activity where usename = ? order by pid")) {
      statement.setString(1, seed.role());
      List<Integer> pids = new ArrayList<>();
      try (ResultSet rows = statement.executeQuery()) {
        while (rows.next()) {
          pids.add(rows.getInt(1));
        }
      }
      return pids;
    }
  }
}
