package dev.pgreclaim.reclaim;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgreclaim.metrics.ReclaimMetrics;
import dev.pgreclaim.policy.PolicyParser;
import dev.pgreclaim.policy.VictimRules;
import dev.pgreclaim.testkit.HeldSessions.State;
import dev.pgreclaim.testkit.HeldSessions;
import dev.pgreclaim.testkit.LogCapture;
import dev.pgreclaim.testkit.PostgresServer;
import dev.pgreclaim.testkit.PostgresTest;
import dev.pgreclaim.testkit.TestDatabase.Seed;
import dev.pgreclaim.testkit.TestDatabase;
import java.sql.Array;
import java.sql.Connection;
import java.sql.Driver;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The rehearsal ({@code pgreclaim.rehearse}, issue 14): the reclaim path once, off the application's threads, killing
 * nothing and keeping no admin session; and the protect lists sent as array literals, read back exactly.
 */
@PostgresTest
@Timeout(120)
class RehearsalTest {

  @Test
  void theRehearsalRunsTheReclaimStatementsKillsNothingAndKeepsNoAdminSession(PostgresServer server)
      throws Exception {
    try (Seed seed = TestDatabase.seed(server, 1); HeldSessions held = new HeldSessions(server);
        LogCapture log = LogCapture.start()) {
      int idle = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "idle-elsewhere");
      Thread.sleep(50);
      Reclaimer reclaimer = reclaimer(seed, "true");
      try {
        Driver driver = DriverManager.getDriver(seed.url());
        reclaimer.rehearse(driver, seed.url(), login(seed));
        assertThat(log.text()).contains("rehearsal of the reclaim path for role " + seed.role())
            .contains("a session would be eligible now").contains("nothing terminated");
        assertThat(held.alive(idle)).as("the rehearsal terminated nothing").isTrue();
        assertThat(awaitNoAdminSession(server, seed.admin())).as("admin sessions left after the rehearsal")
            .isZero();
      } finally {
        reclaimer.close();
      }
    }
  }

  @Test
  void aFailedRehearsalSaysWhyAndNamesNoSecret(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, 1); LogCapture log = LogCapture.start()) {
      Properties settings = settings(seed, "true");
      settings.setProperty("pgreclaim.admin.password", "wrong-Secret-123");
      Reclaimer reclaimer = new Reclaimer(PolicyParser.parse(null, settings, Map.of()), new ReclaimMetrics());
      try {
        reclaimer.rehearse(DriverManager.getDriver(seed.url()), seed.url(), login(seed));
        assertThat(log.text()).contains("rehearsal of the reclaim path").contains("failed")
            .contains("check pgreclaim.admin.user and its password").doesNotContain("wrong-Secret-123");
      } finally {
        reclaimer.close();
      }
    }
  }

  @Test
  void anOpenOffersTheRehearsalOnlyWhenThePolicySaysSo(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, -1)) {
      for (String rehearse : List.of("true", "false")) {
        Reclaimer reclaimer = reclaimer(seed, rehearse);
        try (Connection opened = seed.connectAsRole()) {
          reclaimer.opened(DriverManager.getDriver(seed.url()), seed.url(), login(seed), opened);
          reclaimer.opened(DriverManager.getDriver(seed.url()), seed.url(), login(seed), opened);
          assertThat(reclaimer.rehearsalOffered()).as("rehearse=%s", rehearse)
              .isEqualTo(Boolean.parseBoolean(rehearse));
        } finally {
          reclaimer.close();
        }
      }
    }
  }

  /** The protect lists travel as {@code text[]} literals: whatever the pattern holds, the server reads it back. */
  @Test
  void protectPatternsReachTheServerExactly(PostgresServer server) throws Exception {
    List<String> globs = List.of("we\"ird\\app", "a,b", "{x}", "NULL", " spaced ", "", "it's");
    try (Seed seed = TestDatabase.seed(server, -1); Connection admin = KillGuardsTest.admin(seed);
        PreparedStatement echo = admin.prepareStatement("select cast(? as pg_catalog.text[])")) {
      echo.setString(1, VictimQuery.likeArray(globs));
      try (ResultSet rows = echo.executeQuery()) {
        rows.next();
        Array read = rows.getArray(1);
        Object[] elements = (Object[]) read.getArray();
        assertThat(elements).hasSize(globs.size()).doesNotContainNull();
        for (int i = 0; i < globs.size(); i++) {
          assertThat(elements[i]).isEqualTo(dev.pgreclaim.policy.Globs.toLike(globs.get(i)));
        }
      }
    }
  }

  /** End to end: an application_name with a quote, a backslash and a comma is protected by its exact pattern. */
  @Test
  void aProtectedNameWithQuotesAndBackslashesIsSpared(PostgresServer server) throws Exception {
    String name = "we\"ird\\app,{x}";
    try (Seed seed = TestDatabase.seed(server, -1); HeldSessions held = new HeldSessions(server);
        Connection admin = KillGuardsTest.admin(seed)) {
      int pid = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, name);
      VictimScope scope = VictimScope.role(seed.role());
      VictimRules unprotected = new VictimRules(0, List.of("other"), List.of(), List.of());
      VictimRules protectedByName = new VictimRules(0, List.of(name), List.of(), List.of());
      assertThat(VictimQuery.candidates(admin, scope, unprotected, KillGuards.NONE, 5)).extracting(Victim::pid)
          .containsExactly(pid);
      assertThat(VictimQuery.candidates(admin, scope, protectedByName, KillGuards.NONE, 5)).isEmpty();
    }
  }

  private static Reclaimer reclaimer(Seed seed, String rehearse) throws Exception {
    return new Reclaimer(PolicyParser.parse(null, settings(seed, rehearse), Map.of()), new ReclaimMetrics());
  }

  private static Properties settings(Seed seed, String rehearse) {
    Properties settings = new Properties();
    settings.setProperty("pgreclaim.mode", "terminate");
    settings.setProperty("pgreclaim.admin.user", seed.admin());
    settings.setProperty("pgreclaim.admin.password", seed.adminPassword());
    settings.setProperty("pgreclaim.min-idle", "10ms");
    settings.setProperty("pgreclaim.rehearse", rehearse);
    return settings;
  }

  private static Properties login(Seed seed) {
    Properties login = new Properties();
    login.setProperty("user", seed.role());
    login.setProperty("password", seed.rolePassword());
    return login;
  }

  /** Admin sessions of {@code admin} still in pg_stat_activity after up to 5 s (a closed backend exits quickly). */
  private static int awaitNoAdminSession(PostgresServer server, String admin) throws Exception {
    int count = -1;
    long until = System.nanoTime() + 5_000_000_000L;
    try (Connection superuser = server.connectAsSuperuser("postgres");
        PreparedStatement statement = superuser.prepareStatement("select count(*) from pg_stat_activity"
            + " where usename = ? and application_name = 'pg-reclaim-admin'")) {
      statement.setString(1, admin);
      do {
        try (ResultSet rows = statement.executeQuery()) {
          rows.next();
          count = rows.getInt(1);
        }
        if (count > 0) {
          Thread.sleep(20);
        }
      } while (count > 0 && System.nanoTime() < until);
    }
    return count;
  }
}
