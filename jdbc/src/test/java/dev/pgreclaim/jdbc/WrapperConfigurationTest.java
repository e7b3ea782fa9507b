package dev.pgreclaim.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.pgreclaim.jdbc.HeldSessions.State;
import dev.pgreclaim.reclaim.OpenHandler;
import dev.pgreclaim.testkit.PostgresServer;
import dev.pgreclaim.testkit.PostgresTest;
import dev.pgreclaim.testkit.TestDatabase;
import dev.pgreclaim.testkit.TestDatabase.Seed;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What reaches pgjdbc, and what the wrapper does with configuration it refuses: {@code pgreclaim.*} never reaches the
 * driver; a secret in the URL, an unknown name or {@code mode=off} make the open plain pgjdbc (said once).
 */
@PostgresTest
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class WrapperConfigurationTest {

  @Test
  void pgreclaimSettingsNeverReachPgjdbcNeitherOnTheRefusedOpenNorOnItsRetry(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, 1); HeldSessions held = new HeldSessions(server);
        LogCapture log = LogCapture.start()) {
      int idle = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "forgotten-psql");
      held.awaitIdleFor(300, idle);
      RecordingDriver pgjdbc = new RecordingDriver();
      String url = WrapperSetup.terminatingUrl(seed) + "&ApplicationName=kept-app&pgreclaim.deadline=5s";
      Properties info = WrapperSetup.login(seed);
      info.setProperty("pgreclaim.max-attempts", "2");

      Connection connection = new PgReclaimDriver(pgjdbc).connect(url, info);
      held.keep(connection);

      assertThat(held.gone(idle)).as("reclaimed: the settings were read").isTrue();
      List<RecordingDriver.Run> runs = pgjdbc.runs();
      List<RecordingDriver.Run> appRuns = runs.stream().filter(run -> seed.role().equals(run.info().get("user")))
          .toList();
      assertThat(appRuns).as("the refused open and its retry").hasSizeGreaterThanOrEqualTo(2);
      for (RecordingDriver.Run run : runs) {
        assertThat(run.url()).as("URL handed to pgjdbc").startsWith("jdbc:postgresql:").doesNotContain("pgreclaim");
        assertThat(run.info().keySet()).as("properties handed to pgjdbc")
            .noneMatch(key -> key instanceof String name && name.startsWith("pgreclaim."));
        assertThat(run.info().get(OpenHandler.OWNER_KEY)).as("owner mark (an agent would leave the open alone)")
            .isNotNull().isNotInstanceOf(String.class);
      }
      assertThat(appRuns.get(0).url()).isEqualTo(seed.url() + "?ApplicationName=kept-app");
      assertThat(appRuns.get(0).info()).containsEntry("password", seed.rolePassword());
      // the server's view: the rest of the URL did reach it
      try (Statement statement = connection.createStatement();
          ResultSet rows = statement.executeQuery("select current_setting('application_name')")) {
        rows.next();
        assertThat(rows.getString(1)).isEqualTo("kept-app");
      }
      // the caller's properties are the caller's
      assertThat(info.getProperty("pgreclaim.max-attempts")).isEqualTo("2");
      assertThat(log.text()).doesNotContain(seed.adminPassword());
    }
  }

  @Test
  void theAdminPasswordInTheUrlIsInvalidConfigurationAndTheOpenIsPlainPgjdbc(PostgresServer server)
      throws Exception {
    try (Seed seed = TestDatabase.seed(server, 1)) {
      String url = WrapperSetup.terminatingUrl(seed) + "&pgreclaim.admin.password=" + seed.adminPassword();
      assertPlainAndSaidOnce(server, seed, url, "pgreclaim.admin.password is not accepted in the URL");
    }
  }

  @Test
  void aPasswordInsideTheAdminUrlParameterIsInvalidConfiguration(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, 1)) {
      String adminUrl = server.jdbcUrl("postgres") + "?password=" + seed.adminPassword();
      String url = WrapperSetup.terminatingUrl(seed) + "&pgreclaim.admin.url="
          + URLEncoder.encode(adminUrl, StandardCharsets.UTF_8);
      assertPlainAndSaidOnce(server, seed, url, "pgreclaim.admin.url is invalid (value not shown)");
    }
  }

  @Test
  void anUnknownPgreclaimNameIsInvalidConfiguration(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, 1)) {
      String url = WrapperSetup.terminatingUrl(seed) + "&pgreclaim.min-idel=1s";
      assertPlainAndSaidOnce(server, seed, url, "'pgreclaim.min-idel' in the URL is not a pg-reclaim property");
    }
  }

  @Test
  void modeOffIsPlainPgjdbc(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, 1)) {
      String url = WrapperSetup.terminatingUrl(seed) + "&pgreclaim.mode=off";
      assertPlainAndSaidOnce(server, seed, url, "pgreclaim.mode=off: the JDBC wrapper opens as plain pgjdbc");
    }
  }

  /**
   * The role's only slot is held idle, and would be reclaimed under the URL's terminate policy: two opens each get
   * pgjdbc's own 53300 with nothing attached, nothing is terminated, and the reason is logged once.
   */
  private static void assertPlainAndSaidOnce(PostgresServer server, Seed seed, String url, String reason)
      throws Exception {
    try (HeldSessions held = new HeldSessions(server); LogCapture log = LogCapture.start()) {
      int idle = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "forgotten-psql");
      held.awaitIdleFor(300, idle);
      long terminationsBefore = PgReclaimDriver.metrics().terminations();
      for (int i = 0; i < 2; i++) {
        SQLException refused = assertThrows(SQLException.class,
            () -> new PgReclaimDriver().connect(url, WrapperSetup.login(seed)));
        assertThat(refused.getSQLState()).isEqualTo("53300");
        assertThat(refused.getSuppressed()).as("nothing was tried").isEmpty();
      }
      assertThat(held.alive(idle)).isTrue();
      assertThat(PgReclaimDriver.metrics().terminations()).isEqualTo(terminationsBefore);
      assertThat(log.count(reason)).as(log.text()).isEqualTo(1);
      assertThat(log.text()).doesNotContain(seed.adminPassword()).doesNotContain("AUDIT");
    }
  }

  @Test
  void otherUrlsAreNotTheWrappersOwn() throws Exception {
    PgReclaimDriver driver = new PgReclaimDriver();
    for (String url : new String[] {"jdbc:postgresql://localhost/db", "jdbc:pgreclaim:mysql://localhost/db",
        "jdbc:PGRECLAIM:postgresql://localhost/db", "jdbc:pgreclaim:", "jdbc:otel:postgresql://localhost/db"}) {
      assertThat(driver.acceptsURL(url)).as(url).isFalse();
      assertThat(driver.connect(url, new Properties())).as(url).isNull();
    }
    assertThat(driver.acceptsURL(null)).isFalse();
    assertThat(driver.connect(null, null)).isNull();
    assertThat(driver.acceptsURL("jdbc:pgreclaim:postgresql://localhost/db")).isTrue();
    assertThat(java.sql.DriverManager.getDriver("jdbc:pgreclaim:postgresql://localhost/db"))
        .isInstanceOf(PgReclaimDriver.class);
  }

  @Test
  void theUrlIsTakenApartWithoutTouchingTheRest() {
    WrapperUrl parsed = WrapperUrl.parse("jdbc:pgreclaim:postgresql://h:5432/db?pgreclaim.mode=terminate"
        + "&ssl=true&pgreclaim.protect.users=a%2Cb&options=-c%20x%3D1&pgreclaim.deadline=3s");
    assertThat(parsed.pgjdbcUrl()).isEqualTo("jdbc:postgresql://h:5432/db?ssl=true&options=-c%20x%3D1");
    assertThat(parsed.settings()).containsEntry("pgreclaim.mode", "terminate")
        .containsEntry("pgreclaim.protect.users", "a,b").containsEntry("pgreclaim.deadline", "3s").hasSize(3);
    assertThat(parsed.problems()).isEmpty();
    assertThat(WrapperUrl.parse("jdbc:pgreclaim:postgresql://h/db?pgreclaim.mode=observe").pgjdbcUrl())
        .isEqualTo("jdbc:postgresql://h/db");
    assertThat(WrapperUrl.parse("jdbc:pgreclaim:postgresql:db").pgjdbcUrl()).isEqualTo("jdbc:postgresql:db");
    assertThat(WrapperUrl.parse("jdbc:pgreclaim:postgresql://h/db?pgreclaim.min-idle=%zz").problems())
        .containsExactly("pgreclaim.min-idle in the URL is not valid percent-encoding (value not shown)");
  }
}
