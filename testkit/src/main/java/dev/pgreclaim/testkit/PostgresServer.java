package dev.pgreclaim.testkit;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;

/**
 * A PostgreSQL server for tests. Obtain one through {@link PostgresServers}.
 *
 * <p>{@link #jdbcUrl}, {@link #connectAsSuperuser}, {@link #execute} and {@link #majorVersion} have default
 * implementations built on {@link #host()}, {@link #port()}, {@link #superuser()} and {@link #superuserPassword()}.
 */
public interface PostgresServer extends AutoCloseable {

  /** "local-binaries" | "testcontainers" | "embedded" | "external". */
  String kind();

  /** "127.0.0.1" for local ones. */
  String host();

  int port();

  String superuser();

  String superuserPassword();

  default String jdbcUrl(String database) {
    return "jdbc:postgresql://" + host() + ":" + port() + "/" + database;
  }

  /**
   * A new superuser connection (DriverManager, autocommit on). A test's own checks must not fail because backends a
   * scenario just refused or terminated still hold every process slot of a small private server while they exit (seen
   * under load: "sorry, too many clients already"), so that refusal is retried for up to 5 s.
   */
  default Connection connectAsSuperuser(String database) throws SQLException {
    Properties props = new Properties();
    props.setProperty("user", superuser());
    props.setProperty("password", superuserPassword());
    props.setProperty("connectTimeout", "10");
    long until = System.nanoTime() + 5_000_000_000L;
    while (true) {
      try {
        return DriverManager.getConnection(jdbcUrl(database), props);
      } catch (SQLException refused) {
        if (!"53300".equals(refused.getSQLState()) || System.nanoTime() > until) {
          throw refused;
        }
        try {
          Thread.sleep(50);
        } catch (InterruptedException interrupted) {
          Thread.currentThread().interrupt();
          throw refused;
        }
      }
    }
  }

  /**
   * Waits until no backend of {@code role} is left in pg_stat_activity (closed and terminated backends hold the role's
   * slots until they have exited), at most {@code timeoutMillis}; false when some are still there.
   */
  default boolean awaitNoSessionsOf(String role, long timeoutMillis) throws SQLException, InterruptedException {
    long until = System.nanoTime() + timeoutMillis * 1_000_000L;
    while (true) {
      try (Connection superuser = connectAsSuperuser("postgres");
          java.sql.PreparedStatement statement =
              superuser.prepareStatement("select count(*) from pg_stat_activity where usename = ?")) {
        statement.setString(1, role);
        try (java.sql.ResultSet rows = statement.executeQuery()) {
          rows.next();
          if (rows.getInt(1) == 0) {
            return true;
          }
        }
      }
      if (System.nanoTime() >= until) {
        return false;
      }
      Thread.sleep(10);
    }
  }

  /** Runs each statement in autocommit as superuser on one connection to {@code database}. */
  default void execute(String database, String... statements) throws SQLException {
    try (Connection c = connectAsSuperuser(database); Statement st = c.createStatement()) {
      for (String sql : statements) {
        st.execute(sql);
      }
    }
  }

  /**
   * Drops {@code database} if it exists, ending its sessions first: {@code with (force)} from PostgreSQL 13; before
   * that (no such option) its sessions are terminated and {@code drop database} waits for them to exit (up to 5 s).
   */
  default void dropDatabase(String database) throws SQLException {
    if (majorVersion() >= 13) {
      execute("postgres", "drop database if exists " + database + " with (force)");
    } else {
      execute("postgres", "select pg_catalog.pg_terminate_backend(pid) from pg_catalog.pg_stat_activity"
          + " where datname = '" + database + "' and pid <> pg_catalog.pg_backend_pid()",
          "drop database if exists " + database);
    }
  }

  /** e.g. 15 (asks the running server). */
  default int majorVersion() {
    try (Connection c = connectAsSuperuser("postgres");
        Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("show server_version_num")) {
      rs.next();
      return Integer.parseInt(rs.getString(1).trim()) / 10000;
    } catch (SQLException e) {
      throw new IllegalStateException("cannot read server_version_num from " + this, e);
    }
  }

  boolean canRestart();

  /**
   * Fast stop (SIGINT) and start on the same port; returns when a real login works.
   *
   * @throws UnsupportedOperationException when {@link #canRestart()} is false
   */
  void restart() throws Exception;

  /** Fast stop and delete the data directory; idempotent. A no-op for an external server. */
  @Override
  void close();
}
