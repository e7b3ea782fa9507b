package dev.pgreclaim.reclaim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.pgreclaim.agent.Entry;
import dev.pgreclaim.agent.EntryKind;
import dev.pgreclaim.testkit.HeldSessions.State;
import dev.pgreclaim.testkit.HeldSessions;
import dev.pgreclaim.testkit.LogCapture;
import dev.pgreclaim.testkit.PostgresServer;
import dev.pgreclaim.testkit.PostgresTest;
import dev.pgreclaim.testkit.TestDatabase.Seed;
import dev.pgreclaim.testkit.TestDatabase;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.sql.SQLException;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Bad configuration, through every entry point: the application's opens go exactly as with plain pgjdbc (the same
 * 53300, nothing attached, nothing terminated), and the reason is said once, naming each property but no secret.
 */
@PostgresTest
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class BadConfigurationTest {

  @ParameterizedTest(name = "through the {0}")
  @MethodSource("dev.pgreclaim.agent.EntryKind#all")
  void anInvalidPolicyOpensExactlyAsPlainPgjdbcAndSaysWhyOnce(EntryKind entry, PostgresServer server)
      throws Exception {
    try (Seed seed = TestDatabase.seed(server, 1); HeldSessions held = new HeldSessions(server)) {
      int idle = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "would-be-victim");
      held.awaitIdleFor(300, idle);
      SQLException plain = assertThrows(SQLException.class,
          () -> new org.postgresql.Driver().connect(seed.url(), login(seed)));
      assertThat(plain.getSQLState()).isEqualTo("53300");

      String urlSecret = "u" + Long.toHexString(System.nanoTime()) + "-s3cret";
      URI address = URI.create(seed.url().substring("jdbc:".length()));
      // every problem at once: a bad value, and an admin URL carrying a password (refused, never echoed)
      Map<String, String> settings = Map.of("pgreclaim.mode", "terminate", "pgreclaim.admin.user", seed.admin(),
          "pgreclaim.min-idle", "ten seconds", "pgreclaim.admin.url", "jdbc:postgresql://" + seed.admin() + ":"
              + urlSecret + "@" + address.getHost() + ":" + address.getPort() + "/postgres");
      try (LogCapture log = LogCapture.start();
          Entry opened = entry.start(settings, Map.of("PGRECLAIM_ADMIN_PASSWORD", seed.adminPassword()))) {
        StringBuilder seen = new StringBuilder();
        for (int open = 1; open <= 2; open++) {
          SQLException refused = assertThrows(SQLException.class, () -> opened.connect(seed.url(), login(seed)));
          assertThat(refused.getClass().getName()).isEqualTo(plain.getClass().getName());
          assertThat(refused.getSQLState()).isEqualTo(plain.getSQLState());
          assertThat(refused.getMessage()).isEqualTo(plain.getMessage());
          assertThat(refused.getSuppressed()).as("nothing of pg-reclaim attached").isEmpty();
          seen.append(stackTrace(refused));
        }
        assertThat(held.alive(idle)).isTrue();
        assertThat(opened.policy()).as("no policy acted on").isNull();
        assertThat(opened.metrics().reclaimsAttempted()).isZero();
        assertThat(opened.metrics().terminations()).isZero();

        String text = log.text();
        assertThat(log.count("invalid configuration")).as(text).isEqualTo(1);
        assertThat(log.count("pgreclaim.min-idle='ten seconds' is invalid")).as(text).isEqualTo(1);
        assertThat(log.count("pgreclaim.admin.url is invalid (value not shown)")).as(text).isEqualTo(1);
        seen.append(text);
        assertThat(seen.toString()).doesNotContain(seed.adminPassword()).doesNotContain(urlSecret);
      }
    }
  }

  private static Properties login(Seed seed) {
    Properties info = new Properties();
    info.setProperty("user", seed.role());
    info.setProperty("password", seed.rolePassword());
    return info;
  }

  private static String stackTrace(Throwable thrown) {
    StringWriter text = new StringWriter();
    thrown.printStackTrace(new PrintWriter(text));
    return text.toString();
  }
}
