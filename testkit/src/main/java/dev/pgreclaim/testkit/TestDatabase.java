package dev.pgreclaim.testkit;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;

/**
 * Per-test scenario objects: an application role with a connection limit, its database, and a least-privilege admin.
 */
public final class TestDatabase {

  private TestDatabase() {}

  /**
   * What {@link #seed} created. {@code server} (last component) is there so that {@link #drop()} can clean up as
   * superuser.
   */
  public record Seed(String role, String rolePassword, String database, String admin, String adminPassword,
      String url, PostgresServer server) implements AutoCloseable {

    public Connection connectAsRole() throws SQLException {
      return connect(role, rolePassword);
    }

    /** The admin connects to {@link #url()} too. */
    public Connection connectAsAdmin() throws SQLException {
      return connect(admin, adminPassword);
    }

    private Connection connect(String user, String password) throws SQLException {
      Properties p = new Properties();
      p.setProperty("user", user);
      p.setProperty("password", password);
      p.setProperty("connectTimeout", "10");
      return DriverManager.getConnection(url, p);
    }

    /** Terminates the sessions of the database and both roles, then drops database and roles; errors are ignored. */
    public void drop() {
      String[] statements = {
          "select pg_catalog.pg_terminate_backend(pid) from pg_catalog.pg_stat_activity"
              + " where pid <> pg_catalog.pg_backend_pid() and (datname = '"
              + database + "' or usename in ('" + role + "', '" + admin + "'))",
          null,
          "drop role if exists " + role,
          "drop role if exists " + admin};
      for (String sql : statements) {
        try {
          if (sql == null) {
            server.dropDatabase(database);
          } else {
            server.execute("postgres", sql);
          }
        } catch (SQLException | RuntimeException e) {
          // best effort
        }
      }
    }

    /** Same as {@link #drop()}. */
    @Override
    public void close() {
      drop();
    }
  }

  /**
   * Creates role {@code app_<8 lowercase>} ({@code LOGIN PASSWORD ... CONNECTION LIMIT connectionLimit}; -1 =
   * unlimited), database {@code db_<same suffix>} owned by it, and {@code pgr_admin_<same suffix>} with LOGIN and
   * {@code pg_signal_backend, pg_read_all_stats}.
   */
  public static Seed seed(PostgresServer s, int connectionLimit) throws SQLException {
    String suffix = Env.randomLower(8);
    String role = "app_" + suffix;
    String database = "db_" + suffix;
    String admin = "pgr_admin_" + suffix;
    String rolePassword = Env.randomAlnum(20);
    String adminPassword = Env.randomAlnum(20);
    Seed seed = new Seed(role, rolePassword, database, admin, adminPassword, s.jdbcUrl(database), s);
    try {
      s.execute("postgres",
          "create role " + role + " with login password '" + rolePassword + "' connection limit " + connectionLimit,
          "create database " + database + " owner " + role,
          "create role " + admin + " with login password '" + adminPassword + "'",
          "grant pg_signal_backend, pg_read_all_stats to " + admin);
    } catch (SQLException | RuntimeException e) {
      seed.drop();
      throw e;
    }
    return seed;
  }
}
