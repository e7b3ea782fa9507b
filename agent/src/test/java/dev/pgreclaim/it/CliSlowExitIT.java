package dev.pgreclaim.it;

import static dev.pgreclaim.it.CliRun.cli;
import static org.assertj.core.api.Assertions.assertThat;

import dev.pgreclaim.testkit.ForkedJvm;
import dev.pgreclaim.testkit.PostgresServer;
import dev.pgreclaim.testkit.PostgresTest;
import dev.pgreclaim.testkit.TestDatabase;
import dev.pgreclaim.testkit.TestDatabase.Seed;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Issue 11 point 3, CLI side: {@code reclaim --count 3} never reports one slowly exiting victim twice. */
@PostgresTest
@Timeout(240)
class CliSlowExitIT {

  @Test
  void aSlowExitingVictimIsReportedOnce(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, -1); Connection victim = seed.connectAsRole();
        Connection blocker = server.connectAsSuperuser(seed.database())) {
      int pid;
      String tempSchema;
      try (Statement statement = victim.createStatement()) {
        for (int done = 0; done < 3000; done += 500) {
          statement.execute("do $$ begin for i in " + (done + 1) + ".." + (done + 500) + " loop"
              + " execute format('create temp table t%s (id int)', i); end loop; end $$");
        }
        try (ResultSet rows = statement.executeQuery(
            "select pg_backend_pid(), pg_my_temp_schema()::regnamespace::text")) {
          rows.next();
          pid = rows.getInt(1);
          tempSchema = rows.getString(2);
        }
      }
      // Its exit drops 3000 temporary tables; a lock on one of them keeps it exiting for as long as the CLI runs,
      // so the result does not depend on how fast this machine drops tables.
      blocker.setAutoCommit(false);
      try (Statement statement = blocker.createStatement()) {
        statement.execute("lock table " + tempSchema + ".t3000 in access share mode");
      }
      ForkedJvm.Result result;
      try {
        result = cli().env("PGRECLAIM_ADMIN_PASSWORD", seed.adminPassword()).run("reclaim", "--role", seed.role(),
            "--count", "3", "--min-idle", "0ms", "--url", seed.url(), "--user", seed.admin());
        try (Statement statement = blocker.createStatement();
            ResultSet rows = statement.executeQuery("select state, wait_event_type from pg_stat_activity"
                + " where pid = " + pid)) {
          assertThat(rows.next()).as("the victim is still exiting when the CLI is done").isTrue();
          System.out.println("victim " + pid + " while exiting: state=" + rows.getString(1) + " wait_event_type="
              + rows.getString(2));
        }
      } finally {
        blocker.rollback();
      }
      List<String> reported = new ArrayList<>();
      Matcher audit = Pattern.compile("(?m)^pg-reclaim AUDIT terminated pid=(\\d+) ").matcher(result.stdout());
      while (audit.find()) {
        reported.add(audit.group(1));
      }
      assertThat(reported).as(result.toString()).containsExactly(String.valueOf(pid));
      assertThat(result.exitCode()).isZero();
      assertThat(result.stderr()).contains("terminated 1 of 3 requested");
    }
  }
}
