package dev.pgreclaim.reclaim;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgreclaim.policy.VictimRules;
import dev.pgreclaim.testkit.HeldSessions.State;
import dev.pgreclaim.testkit.HeldSessions;
import dev.pgreclaim.testkit.PostgresServer;
import dev.pgreclaim.testkit.PostgresTest;
import dev.pgreclaim.testkit.TestDatabase.Seed;
import dev.pgreclaim.testkit.TestDatabase;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;

/**
 * Issue 11 point 1: the admin SQL runs only pg_catalog objects, whatever the application role planted in the
 * database it owns ({@link PlantedObjects}). The CLI side is {@code it/PlantedObjectsIT}.
 */
@PostgresTest
class PlantedObjectsTest {

  @Test
  void anAgentReclaimInAPlantedDatabaseRecoversAndRunsNothingPlanted(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, -1); HeldSessions held = new HeldSessions(server)) {
      int victim = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "forgotten");
      PlantedObjects.plant(seed);
      server.execute("postgres", "alter role " + seed.role() + " connection limit 1");
      Thread.sleep(1100);
      try (AdviceLoop agent = AdviceLoop.terminating(seed.admin(), seed.adminPassword(),
          Map.of("pgreclaim.admin.url", seed.url(), "pgreclaim.min-idle", "1s"))) {
        Connection recovered = agent.open(seed.url(), seed.role(), seed.rolePassword());
        held.keep(recovered);
        assertThat(held.gone(victim)).isTrue();
        assertThat(agent.metrics.terminations()).isEqualTo(1);
        recovered.setAutoCommit(false);
        recovered.createStatement().execute("select 1"); // idle in transaction: never a victim
        // the limit is full again and nothing is eligible: the no-victim explanation runs in the planted database
        assertThat(org.junit.jupiter.api.Assertions.assertThrows(java.sql.SQLException.class,
            () -> agent.open(seed.url(), seed.role(), seed.rolePassword())).getSQLState()).isEqualTo("53300");
      }
      assertThat(AdminCheck.run(new org.postgresql.Driver(), seed.url(), seed.admin(), seed.adminPassword()))
          .contains(": ok");
      assertThat(PlantedObjects.calls(seed)).as("planted objects run by the admin SQL").isEmpty();
    }
  }

  @Test
  void theAdminLoginPinsTheSearchPathOverTheDatabaseSettingAndCurrentSchema(PostgresServer server)
      throws Exception {
    try (Seed seed = TestDatabase.seed(server, -1)) {
      PlantedObjects.plant(seed);
      Properties base = new Properties();
      base.setProperty("currentSchema", "public");
      base.setProperty("options", "-c search_path=public");
      try (Connection admin = DriverManager.getConnection(seed.url(),
              AdminLoginProperties.of(base, seed.admin(), seed.adminPassword()));
          Connection plain = seed.connectAsAdmin()) {
        assertThat(show(admin, "search_path")).isEqualTo("pg_catalog,pg_temp");
        assertThat(show(admin, "application_name")).isEqualTo(VictimQuery.ADMIN_APPLICATION_NAME);
        // the planted database setting is in force for any other login
        assertThat(show(plain, "search_path")).isEqualTo("public, pg_catalog");
      }
    }
  }

  @Test
  void theQualifiedStatementsAloneRunNothingPlantedEvenWithoutThePinnedPath(PostgresServer server)
      throws Exception {
    try (Seed seed = TestDatabase.seed(server, -1); HeldSessions held = new HeldSessions(server)) {
      int first = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "first");
      int second = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "second");
      PlantedObjects.plant(seed);
      Thread.sleep(50);
      // a plain login: the database's planted search_path (public before pg_catalog) is in force
      try (Connection admin = seed.connectAsAdmin()) {
        admin.setAutoCommit(true);
        assertThat(show(admin, "search_path")).isEqualTo("public, pg_catalog");
        VictimScope scope = VictimScope.roleInDatabase(seed.role(), seed.database());
        VictimRules rules = new VictimRules(0, List.of("x*"), List.of("nobody?"), List.of("none_*"), true);
        KillGuards guards = KillGuards.of(new int[] {4242}, new int[] {4343}, seed.database(), true);
        ReclaimLock.acquire(admin, seed.role(), 1000);
        assertThat(VictimQuery.candidates(admin, scope, rules, guards, 5)).extracting(Victim::pid)
            .containsExactly(first, second);
        Victim victim = VictimQuery.terminateOne(admin, scope, rules, guards);
        assertThat(victim.pid()).isEqualTo(first);
        assertThat(victim.terminated()).isTrue();
        VictimQuery.stillThere(admin, first);
        NoVictim why = VictimQuery.whyNone(admin, scope, rules, guards.excluding(second));
        assertThat(why.sessions()).isGreaterThanOrEqualTo(1);
        ReclaimLock.release(admin, seed.role());
        assertThat(AdminCheck.report(admin)).contains(": ok");
      }
      assertThat(PlantedObjects.calls(seed)).as("planted objects run by the admin SQL").isEmpty();
    }
  }

  static String show(Connection connection, String setting) throws Exception {
    try (Statement statement = connection.createStatement();
        ResultSet rows = statement.executeQuery("show " + setting)) {
      rows.next();
      return rows.getString(1);
    }
  }
}
