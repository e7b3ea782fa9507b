package dev.pgreclaim.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.pgreclaim.jdbc.HeldSessions.State;
import dev.pgreclaim.testkit.PostgresServer;
import dev.pgreclaim.testkit.PostgresTest;
import dev.pgreclaim.testkit.TestDatabase;
import dev.pgreclaim.testkit.TestDatabase.Seed;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * The seed story through a pool and through the DataSource wrapper: HikariCP configured by {@code jdbcUrl}, HikariCP
 * configured by {@code dataSourceClassName=dev.pgreclaim.jdbc.PgReclaimDataSource}, and a pgjdbc DataSource wrapped.
 * Each time the role's only slot is held idle, and the pool (or caller) gets its connection by reclaiming it, once.
 */
@PostgresTest
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class PoolSeedTest {

  @Test
  void hikariWithTheWrapperUrl(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, 1); HeldSessions held = new HeldSessions(server);
        LogCapture log = LogCapture.start()) {
      int idle = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "forgotten-psql");
      held.awaitIdleFor(300, idle);
      HikariConfig config = poolConfig();
      config.setJdbcUrl(WrapperSetup.terminatingUrl(seed));
      config.setUsername(seed.role());
      config.setPassword(seed.rolePassword());
      config.addDataSourceProperty("pgreclaim.admin.password", seed.adminPassword());

      try (HikariDataSource pool = new HikariDataSource(config); Connection connection = pool.getConnection()) {
        assertThat(connection.isValid(5)).isTrue();
        assertReclaimedOnce(held, log, seed, idle);
      }
    }
  }

  @Test
  void hikariWithTheDataSourceClassName(PostgresServer server, @TempDir Path dir) throws Exception {
    try (Seed seed = TestDatabase.seed(server, 1); HeldSessions held = new HeldSessions(server);
        LogCapture log = LogCapture.start()) {
      int idle = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "forgotten-psql");
      held.awaitIdleFor(300, idle);
      // no secret in the URL: the admin password comes from a file the URL names
      Path passwordFile = Files.writeString(dir.resolve("admin-password"), seed.adminPassword() + "\n");
      HikariConfig config = poolConfig();
      config.setDataSourceClassName(PgReclaimDataSource.class.getName());
      config.addDataSourceProperty("url", WrapperSetup.terminatingUrl(seed) + "&pgreclaim.admin.password-file="
          + passwordFile);
      config.addDataSourceProperty("user", seed.role());
      config.addDataSourceProperty("password", seed.rolePassword());

      try (HikariDataSource pool = new HikariDataSource(config); Connection connection = pool.getConnection()) {
        assertThat(connection.isValid(5)).isTrue();
        assertReclaimedOnce(held, log, seed, idle);
      }
    }
  }

  @Test
  void aWrappedPgjdbcDataSource(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, 1); HeldSessions held = new HeldSessions(server);
        LogCapture log = LogCapture.start()) {
      int idle = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "forgotten-psql");
      held.awaitIdleFor(300, idle);
      PGSimpleDataSource target = new PGSimpleDataSource();
      target.setUrl(seed.url());
      target.setUser(seed.role());
      target.setPassword(seed.rolePassword());
      target.setLoginTimeout(10);

      // the wrapped form reads its policy from the environment and system properties only
      try (SystemProperties ignored = SystemProperties.set("pgreclaim.mode", "terminate",
          "pgreclaim.admin.user", seed.admin(), "pgreclaim.admin.password", seed.adminPassword(),
          "pgreclaim.min-idle", "200ms")) {
        Connection connection = new PgReclaimDataSource(target).getConnection();
        held.keep(connection);
        assertThat(connection.isValid(5)).isTrue();
        assertReclaimedOnce(held, log, seed, idle);
      }
    }
  }

  /** The bean form also takes a plain pgjdbc URL (read as the wrapper's) and a login given per call. */
  @Test
  void theBeanFormTakesAPgjdbcUrlAndAPerCallLogin(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, 1); HeldSessions held = new HeldSessions(server);
        LogCapture log = LogCapture.start()) {
      int idle = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "forgotten-psql");
      held.awaitIdleFor(300, idle);
      PgReclaimDataSource dataSource = new PgReclaimDataSource();
      dataSource.setUrl(seed.url() + "?pgreclaim.mode=terminate&pgreclaim.admin.user=" + seed.admin()
          + "&pgreclaim.min-idle=200ms");
      dataSource.setUser("nobody-" + seed.role());
      dataSource.setPassword("wrong");
      dataSource.setLoginTimeout(15);

      try (SystemProperties ignored = SystemProperties.set("pgreclaim.admin.password", seed.adminPassword())) {
        Connection connection = dataSource.getConnection(seed.role(), seed.rolePassword());
        held.keep(connection);
        assertThat(connection.getMetaData().getUserName()).isEqualTo(seed.role());
        assertReclaimedOnce(held, log, seed, idle);
      }
    }
  }

  private static HikariConfig poolConfig() {
    HikariConfig config = new HikariConfig();
    config.setMaximumPoolSize(1);
    config.setMinimumIdle(1);
    config.setConnectionTimeout(20_000);
    config.setPoolName("pg-reclaim-test");
    return config;
  }

  private static void assertReclaimedOnce(HeldSessions held, LogCapture log, Seed seed, int idle) throws Exception {
    assertThat(held.gone(idle)).as("the idle session is terminated").isTrue();
    assertThat(log.count("pg-reclaim AUDIT terminated pid=" + idle + " role=" + seed.role())).isEqualTo(1);
    assertThat(log.count("pg-reclaim AUDIT")).isEqualTo(1);
    assertThat(log.text()).doesNotContain(seed.adminPassword());
  }
}
