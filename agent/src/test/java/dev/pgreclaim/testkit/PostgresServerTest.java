package dev.pgreclaim.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pgreclaim.testkit.IdleHolder.HoldState;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.postgresql.util.PSQLException;

@PostgresTest
class PostgresServerTest {

  private static String queryOne(Connection c, String sql) throws SQLException {
    try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
      assertThat(rs.next()).as(sql).isTrue();
      return rs.getString(1);
    }
  }

  private static String stateOf(Connection c, int pid) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("select state from pg_stat_activity where pid = ?")) {
      ps.setInt(1, pid);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getString(1) : null;
      }
    }
  }

  private static Connection login(PostgresServer s, String user, String password) throws SQLException {
    Properties p = new Properties();
    p.setProperty("user", user);
    p.setProperty("password", password);
    return DriverManager.getConnection(s.jdbcUrl("postgres"), p);
  }

  @Test
  void serverStartsAndSuperuserCanLogIn(PostgresServer server) throws Exception {
    try (Connection c = server.connectAsSuperuser("postgres")) {
      assertThat(c.getAutoCommit()).isTrue();
      assertThat(queryOne(c, "select current_user")).isEqualTo(server.superuser());
      assertThat(queryOne(c, "select rolsuper::text from pg_roles where rolname = current_user")).isEqualTo("true");
    }
    assertThat(server.majorVersion()).isGreaterThanOrEqualTo(12);
    assertThat(server.jdbcUrl("x")).isEqualTo("jdbc:postgresql://" + server.host() + ":" + server.port() + "/x");
    assertThat(server.kind()).isIn("local-binaries", "testcontainers", "embedded", "external");
  }

  @Test
  void wrongPasswordIsRejectedWithScram(PostgresServer server) throws Exception {
    assertThatThrownBy(() -> login(server, server.superuser(), server.superuserPassword() + "x").close())
        .isInstanceOf(SQLException.class)
        .extracting(e -> ((SQLException) e).getSQLState())
        .isEqualTo("28P01");
    if (!server.kind().equals("external")) {
      try (Connection c = server.connectAsSuperuser("postgres")) {
        assertThat(queryOne(c, "select count(*) from pg_hba_file_rules where auth_method = 'trust'")).isEqualTo("0");
        assertThat(queryOne(c, "select rolpassword like 'SCRAM-SHA-256$%' from pg_authid where rolname = current_user"))
            .isEqualTo("t");
      }
    }
  }

  @Test
  void restartKeepsPortAndLoginsWorkAfterwards() throws Exception {
    try (PostgresServer s = PrivateServer.start(Map.of())) {
      Assumptions.assumeTrue(s.canRestart(), s.kind() + " cannot restart");
      int port = s.port();
      s.execute("postgres", "create table survivor(x int)", "insert into survivor values (7)");
      Connection before = s.connectAsSuperuser("postgres");
      long t0 = System.nanoTime();
      s.restart();
      long ms = (System.nanoTime() - t0) / 1_000_000;
      System.err.println("restart took " + ms + " ms");
      assertThat(s.port()).isEqualTo(port);
      assertThatThrownBy(() -> queryOne(before, "select 1")).isInstanceOf(SQLException.class);
      before.close();
      try (Connection c = s.connectAsSuperuser("postgres")) {
        assertThat(queryOne(c, "select x from survivor")).isEqualTo("7");
      }
    }
  }

  @Test
  void roleAtItsConnectionLimitIsRefusedWith53300(PostgresServer server) throws Exception {
    TestDatabase.Seed seed = TestDatabase.seed(server, 1);
    try (IdleHolder holder = IdleHolder.start(seed.url(), seed.role(), seed.rolePassword(), HoldState.IDLE,
        "holder-limit")) {
      assertThat(holder.backendPid()).isPositive();
      assertThatThrownBy(() -> seed.connectAsRole().close())
          .isInstanceOfSatisfying(PSQLException.class, e -> {
            assertThat(e.getSQLState()).isEqualTo("53300");
            assertThat(e.getServerErrorMessage()).isNotNull();
            assertThat(e.getServerErrorMessage().getRoutine()).isEqualTo("InitializeSessionUserId");
          });
      try (Connection admin = seed.connectAsAdmin()) {
        assertThat(stateOf(admin, holder.backendPid())).isEqualTo("idle");
      }
    } finally {
      seed.drop();
    }
    assertThat(server.connectAsSuperuser("postgres").createStatement()
        .executeQuery("select count(*) from pg_roles where rolname = '" + seed.role() + "'"))
        .satisfies(rs -> {
          rs.next();
          assertThat(rs.getInt(1)).isZero();
          rs.getStatement().getConnection().close();
        });
  }

  @Test
  void idleInTransactionHolderIsVisibleToTheAdmin(PostgresServer server) throws Exception {
    TestDatabase.Seed seed = TestDatabase.seed(server, 2);
    try (IdleHolder holder = IdleHolder.start(seed.url(), seed.role(), seed.rolePassword(),
        HoldState.IDLE_IN_TRANSACTION, "holder-iit");
        Connection admin = seed.connectAsAdmin();
        PreparedStatement ps = admin.prepareStatement(
            "select state, application_name, usename, datname from pg_stat_activity where pid = ?")) {
      ps.setInt(1, holder.backendPid());
      try (ResultSet rs = ps.executeQuery()) {
        assertThat(rs.next()).isTrue();
        assertThat(rs.getString(1)).isEqualTo("idle in transaction");
        assertThat(rs.getString(2)).isEqualTo("holder-iit");
        assertThat(rs.getString(3)).isEqualTo(seed.role());
        assertThat(rs.getString(4)).isEqualTo(seed.database());
      }
    } finally {
      seed.drop();
    }
  }

  @Test
  void advisoryLockAndActiveHolders(PostgresServer server) throws Exception {
    TestDatabase.Seed seed = TestDatabase.seed(server, 3);
    try (IdleHolder locker = IdleHolder.start(seed.url(), seed.role(), seed.rolePassword(),
        HoldState.ADVISORY_LOCK, "holder-lock");
        IdleHolder active = IdleHolder.start(seed.url(), seed.role(), seed.rolePassword(), HoldState.ACTIVE,
            "holder-active");
        Connection admin = seed.connectAsAdmin()) {
      try (PreparedStatement ps = admin.prepareStatement(
          "select count(*) from pg_locks where locktype = 'advisory' and objid = 42 and granted and pid = ?")) {
        ps.setInt(1, locker.backendPid());
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          assertThat(rs.getInt(1)).isEqualTo(1);
        }
      }
      assertThat(stateOf(admin, locker.backendPid())).isEqualTo("idle");
      long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
      while (!"active".equals(stateOf(admin, active.backendPid())) && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertThat(stateOf(admin, active.backendPid())).isEqualTo("active");
      // the least-privilege admin may terminate the role's sessions (pg_signal_backend)
      assertThat(queryOne(admin, "select pg_terminate_backend(" + active.backendPid() + ")")).isEqualTo("t");
      deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
      while (!active.output().contains("QUERY_FAILED") && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertThat(active.output()).contains("QUERY_FAILED 57P01");
      assertThat(active.processAlive()).isTrue();
    } finally {
      seed.drop();
    }
  }

  @Test
  void privateServerHonoursSettingsAndIsClosed() throws Exception {
    PostgresServer s = PrivateServer.start(Map.of("max_connections", "10"));
    Path dataDir = s instanceof LocalBinariesServer l ? l.dataDirectory() : null;
    long serverPid = s instanceof LocalBinariesServer l ? l.serverPid() : -1;
    try {
      assertThat(s.port()).isNotEqualTo(PostgresServers.shared().port());
      try (Connection c = s.connectAsSuperuser("postgres")) {
        assertThat(queryOne(c, "show max_connections")).isEqualTo("10");
      }
    } finally {
      s.close();
      s.close(); // idempotent
    }
    assertThatThrownBy(() -> s.connectAsSuperuser("postgres").close())
        .isInstanceOf(SQLException.class)
        .extracting(e -> ((SQLException) e).getSQLState())
        .isEqualTo("08001");
    if (dataDir != null) {
      assertThat(Files.exists(dataDir)).isFalse();
      assertThat(ProcessHandle.of(serverPid).map(ProcessHandle::isAlive).orElse(false)).isFalse();
    }
  }

  /**
   * The Javas the compatibility tests run on, each really started. The README says the agent is tested on Java 17
   * and 25: under CI ({@code CI=true}, which {@code .ci/run} sets) both must be among them, or the run fails here
   * instead of quietly testing one.
   */
  @Test
  void forkedJvmRunsOnEveryConfiguredJava() throws Exception {
    List<Path> javas = ForkedJvm.javaBinaries();
    List<Integer> versions = new java.util.ArrayList<>();
    for (Path java : javas) {
      versions.add(featureVersion(java));
    }
    System.err.println("[pgreclaim-testkit] compatibility Javas: " + javas + " (feature versions " + versions + ")");
    assertThat(javas).doesNotHaveDuplicates();
    if (PostgresServers.requireServer()) {
      assertThat(versions).as("Javas under CI: %s (provide Temurin 25 under /usr/lib/jvm/temurin-25*, or list both"
          + " in -Dpgreclaim.test.javas)", javas).contains(17, 25);
    }
    for (Path java : javas) {
      ForkedJvm.Result r = ForkedJvm.builder()
          .javaBinary(java)
          .mainClass(IdleHolderMain.class.getName())
          .timeout(Duration.ofSeconds(30))
          .run();
      assertThat(r.exitCode()).as(java + ": " + r).isEqualTo(2);
      assertThat(r.stderr()).as(java.toString()).contains("usage: IdleHolderMain");
    }
  }

  /** The feature version from the JDK's {@code release} file next to {@code bin/java}; -1 when unknown. */
  static int featureVersion(Path java) throws java.io.IOException {
    Path release = java.toRealPath().getParent().getParent().resolve("release");
    if (Files.isRegularFile(release)) {
      for (String line : Files.readAllLines(release)) {
        if (line.startsWith("JAVA_VERSION=")) {
          return Integer.parseInt(line.substring("JAVA_VERSION=".length()).replace("\"", "").split("[.+-]")[0]);
        }
      }
    }
    return -1;
  }
}
