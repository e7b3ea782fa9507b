package dev.pgreclaim.reclaim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.pgreclaim.testkit.PostgresServer;
import dev.pgreclaim.testkit.PostgresTest;
import dev.pgreclaim.testkit.TestDatabase;
import dev.pgreclaim.testkit.TestDatabase.Seed;
import java.sql.SQLException;
import org.junit.jupiter.api.Test;

/** The start-up self-check's verdicts ({@code pgreclaim.self-check=true} runs this on the agent's init thread). */
@PostgresTest
class AdminCheckTest {

  @Test
  void saysOkOrNamesTheMissingGrant(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, 1)) {
      org.postgresql.Driver driver = new org.postgresql.Driver();
      assertThat(AdminCheck.run(driver, seed.url(), seed.admin(), seed.adminPassword()))
          .contains("admin role " + seed.admin()).contains(": ok");

      server.execute("postgres", "revoke pg_read_all_stats from " + seed.admin());
      assertThat(AdminCheck.run(driver, seed.url(), seed.admin(), seed.adminPassword()))
          .contains("MISSING").contains("GRANT pg_read_all_stats TO " + seed.admin())
          .doesNotContain("GRANT pg_signal_backend");

      server.execute("postgres", "revoke pg_signal_backend from " + seed.admin(),
          "grant pg_read_all_stats to " + seed.admin());
      assertThat(AdminCheck.run(driver, seed.url(), seed.admin(), seed.adminPassword()))
          .contains("MISSING").contains("GRANT pg_signal_backend TO " + seed.admin())
          .doesNotContain("GRANT pg_read_all_stats");

      SQLException refused = assertThrows(SQLException.class,
          () -> AdminCheck.run(driver, seed.url(), seed.admin(), "wrong"));
      assertThat(AdminCheck.explain(refused)).contains("28P01").contains("check pgreclaim.admin.user");
    }
  }
}
