package dev.pgreclaim.it;

import static dev.pgreclaim.it.CliRun.cli;
import static dev.pgreclaim.it.SeedScenarioIT.sessionExists;
import static org.assertj.core.api.Assertions.assertThat;

import dev.pgreclaim.reclaim.PlantedObjects;
import dev.pgreclaim.testkit.ForkedJvm;
import dev.pgreclaim.testkit.PostgresServer;
import dev.pgreclaim.testkit.PostgresTest;
import dev.pgreclaim.testkit.TestDatabase;
import dev.pgreclaim.testkit.TestDatabase.Seed;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 11 point 1, CLI side: {@code status} and {@code reclaim} against a database whose owner planted look-alike
 * functions, operators and views and put {@code public} before {@code pg_catalog}: both work, nothing planted runs.
 * The agent side is {@code reclaim/PlantedObjectsTest}.
 */
@PostgresTest
@Timeout(180)
class PlantedObjectsIT {

  @Test
  void statusAndReclaimInAPlantedDatabaseWorkAndRunNothingPlanted(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, 1); Connection forgotten = seed.connectAsRole()) {
      int pid;
      try (Statement statement = forgotten.createStatement();
          ResultSet rows = statement.executeQuery("select pg_backend_pid()")) {
        rows.next();
        pid = rows.getInt(1);
      }
      server.execute("postgres", "alter role " + seed.role() + " connection limit -1");
      PlantedObjects.plant(seed);
      server.execute("postgres", "alter role " + seed.role() + " connection limit 1");

      ForkedJvm.Result status = cli().env("PGRECLAIM_ADMIN_PASSWORD", seed.adminPassword())
          .run("status", "--url", seed.url(), "--user", seed.admin(), "--role", seed.role());
      assertThat(status.exitCode()).as(status.toString()).isZero();
      assertThat(status.stdout()).containsPattern("(?m)^ " + seed.role() + " +\\| +1 \\| +1 \\| .*AT LIMIT$")
          .contains(" " + pid + " ");

      ForkedJvm.Result reclaim = cli().env("PGRECLAIM_ADMIN_PASSWORD", seed.adminPassword())
          .run("reclaim", "--role", seed.role(), "--min-idle", "0ms", "--url", seed.url(), "--user", seed.admin());
      assertThat(reclaim.exitCode()).as(reclaim.toString()).isZero();
      assertThat(reclaim.stdout()).startsWith("pg-reclaim AUDIT terminated pid=" + pid + " ");

      ForkedJvm.Result nothing = cli().env("PGRECLAIM_ADMIN_PASSWORD", seed.adminPassword())
          .run("reclaim", "--role", seed.role(), "--dry-run", "--url", seed.url(), "--user", seed.admin());
      assertThat(nothing.exitCode()).as(nothing.toString()).isEqualTo(1);
      assertThat(nothing.stderr()).contains("nothing to reclaim");

      assertThat(sessionExists(seed, pid)).isFalse();
      assertThat(PlantedObjects.calls(seed)).as("planted objects run by the CLI's admin SQL").isEmpty();
    }
  }
}
