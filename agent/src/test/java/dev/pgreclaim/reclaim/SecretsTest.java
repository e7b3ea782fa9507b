package dev.pgreclaim.reclaim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.pgreclaim.agent.EntryKind;
import dev.pgreclaim.metrics.ReclaimStats;
import dev.pgreclaim.testkit.HeldSessions.State;
import dev.pgreclaim.testkit.HeldSessions;
import dev.pgreclaim.testkit.LogCapture;
import dev.pgreclaim.testkit.PostgresServer;
import dev.pgreclaim.testkit.PostgresTest;
import dev.pgreclaim.testkit.TestDatabase.Seed;
import dev.pgreclaim.testkit.TestDatabase;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.Map;
import javax.management.MBeanAttributeInfo;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The admin password never shows: not in logs, exception messages, suppressed exceptions or their causes, the
 * effective-policy line, the MBean, or thread names, over runs that took the success path and the failure paths;
 * through every entry point (the agent's woven driver; the wrapper driver, given the password as a connection
 * property).
 */
@PostgresTest
@org.junit.jupiter.api.Timeout(value = 2, unit = java.util.concurrent.TimeUnit.MINUTES)
class SecretsTest {

  @ParameterizedTest(name = "through the {0}")
  @MethodSource("dev.pgreclaim.agent.EntryKind#all")
  void theAdminPasswordAppearsNowhere(EntryKind entry, PostgresServer server, @TempDir Path dir) throws Exception {
    try (Seed seed = TestDatabase.seed(server, 1); HeldSessions held = new HeldSessions(server);
        LogCapture log = LogCapture.start()) {
      String secret = seed.adminPassword();
      Path passwordFile = Files.writeString(dir.resolve("admin.pw"), secret + "\n"); // trailing newline: must work
      Map<String, StringBuilder> sources = new LinkedHashMap<>();
      Map<String, String> viaFile = Map.of("pgreclaim.admin.password-file", passwordFile.toString(),
          "pgreclaim.admin.keep-alive", "0ms", "pgreclaim.min-idle", "3s");

      // success: the newline-terminated password file logs in and a victim is terminated
      held.awaitIdleFor(3100, held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "victim"));
      try (AdviceLoop agent = AdviceLoop.terminating(entry, seed.admin(), null, viaFile)) {
        java.sql.Connection recovered = agent.open(seed.url(), seed.role(), seed.rolePassword());
        held.keep(recovered);
        // in a transaction, so it is not this application's spare idle session (the refusal below is then
        // no-victim, not not-starving)
        recovered.setAutoCommit(false);
        recovered.createStatement().execute("select 1");
        assertThat(agent.metrics.terminations()).isEqualTo(1);
        seen(sources, "policy").append(agent.policy()).append('\n');
        // the entry's own MBean (the agent's type=Agent, the wrapper's type=Jdbc), this run's, not an earlier test's
        seen(sources, "mbean").append(allMBeanAttributes(agent.entry.registerMBean())).append('\n');
        seen(sources, "last-termination")
            .append(new ReclaimStats(agent.metrics, agent.policy().toString()).getLastTermination()).append('\n');

        // failure: no eligible session (the new connection is too fresh)
        seen(sources, "no-victim").append(stackTrace(assertThrows(SQLException.class,
            () -> agent.open(seed.url(), seed.role(), seed.rolePassword()))));
      }
      // failure: the admin may not signal, then may not read state
      server.execute("postgres", "revoke pg_signal_backend from " + seed.admin(),
          "alter role " + seed.role() + " connection limit 2");
      int secondVictim = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "victim");
      try (AdviceLoop agent = AdviceLoop.terminating(entry, seed.admin(), null, viaFile)) {
        held.awaitIdleFor(3100, secondVictim);
        seen(sources, "no-privilege").append(stackTrace(assertThrows(SQLException.class,
            () -> agent.open(seed.url(), seed.role(), seed.rolePassword()))));
        server.execute("postgres", "revoke pg_read_all_stats from " + seed.admin());
        seen(sources, "state-hidden").append(stackTrace(assertThrows(SQLException.class,
            () -> agent.open(seed.url(), seed.role(), seed.rolePassword()))));
      }
      // failure: admin unreachable, and a wrong password (the configured, wrong, secret must not show either)
      int closedPort;
      try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
        closedPort = probe.getLocalPort();
      }
      try (AdviceLoop agent = AdviceLoop.terminating(entry, seed.admin(), secret, Map.of("pgreclaim.admin.url",
          "jdbc:postgresql://127.0.0.1:" + closedPort + "/postgres", "pgreclaim.deadline", "500ms"))) {
        seen(sources, "admin-unavailable").append(stackTrace(assertThrows(SQLException.class,
            () -> agent.open(seed.url(), seed.role(), seed.rolePassword()))));
      }
      String wrong = secret + "-wrong";
      try (AdviceLoop agent = AdviceLoop.terminating(entry, seed.admin(), wrong, Map.of())) {
        SQLException refused = assertThrows(SQLException.class,
            () -> agent.open(seed.url(), seed.role(), seed.rolePassword()));
        assertThat(refused.getSuppressed()[0].getMessage()).contains("admin-login-failed");
        seen(sources, "admin-login-failed").append(stackTrace(refused));
      }
      // observe mode names a would-be victim through the admin session
      try (AdviceLoop agent = AdviceLoop.of(entry, Map.of("pgreclaim.mode", "observe", "pgreclaim.admin.user",
          seed.admin(), "pgreclaim.admin.password", secret))) {
        seen(sources, "observe").append(stackTrace(assertThrows(SQLException.class,
            () -> agent.open(seed.url(), seed.role(), seed.rolePassword()))));
        seen(sources, "observe-policy").append(agent.policy()).append(' ')
            .append(String.join(" ", agent.policy().warnings())).append('\n');
      }
      // self-check report and its failure text
      seen(sources, "self-check").append(AdminCheck.run(new org.postgresql.Driver(), seed.url(), seed.admin(), secret))
          .append('\n');
      seen(sources, "self-check-failure").append(AdminCheck.explain(assertThrows(SQLException.class,
          () -> AdminCheck.run(new org.postgresql.Driver(), seed.url(), seed.admin(), wrong)))).append('\n');
      for (Thread thread : Thread.getAllStackTraces().keySet()) {
        seen(sources, "threads").append(thread.getName()).append('\n');
      }
      seen(sources, "log").append(log.text());

      assertThat(log.text()).contains("AUDIT terminated").contains("gave up: no-victim")
          .contains("gave up: no-privilege").contains("gave up: state-hidden").contains("gave up: admin-unavailable")
          .contains("gave up: admin-login-failed").contains("observe:");
      // each place searched holds what the agent really wrote there: the search cannot pass on text the test made
      Map<String, String> expected = new LinkedHashMap<>();
      expected.put("policy", "admin.password=******");
      expected.put("mbean", "LastTermination=pid=");
      expected.put("last-termination", "role=" + seed.role());
      expected.put("no-victim", "gave up: no-victim");
      expected.put("no-privilege", "gave up: no-privilege");
      expected.put("state-hidden", "gave up: state-hidden");
      expected.put("admin-unavailable", "gave up: admin-unavailable");
      expected.put("admin-login-failed", "gave up: admin-login-failed");
      expected.put("observe", "too many connections for role");
      expected.put("observe-policy", "admin.password=******");
      expected.put("self-check", seed.admin());
      expected.put("self-check-failure", seed.admin());
      expected.put("threads", "pg-reclaim-admin-closer");
      expected.put("log", "AUDIT terminated pid=");
      assertThat(sources.keySet()).containsExactlyElementsOf(expected.keySet());
      expected.forEach((source, marker) -> assertThat(sources.get(source).toString()).as(source).contains(marker)
          .doesNotContain(secret));
    }
  }

  private static StringBuilder seen(Map<String, StringBuilder> sources, String source) {
    return sources.computeIfAbsent(source, name -> new StringBuilder());
  }

  private static String stackTrace(Throwable thrown) {
    StringWriter text = new StringWriter();
    thrown.printStackTrace(new PrintWriter(text));
    return text + "\n";
  }

  private static String allMBeanAttributes(String objectName) throws Exception {
    MBeanServer server = ManagementFactory.getPlatformMBeanServer();
    ObjectName name = new ObjectName(objectName);
    StringBuilder values = new StringBuilder();
    for (MBeanAttributeInfo attribute : server.getMBeanInfo(name).getAttributes()) {
      values.append(attribute.getName()).append('=').append(server.getAttribute(name, attribute.getName()))
          .append('\n');
    }
    assertThat(values.toString()).contains("EffectivePolicy=mode=terminate");
    return values.toString();
  }
}
