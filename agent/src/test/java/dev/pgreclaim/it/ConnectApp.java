package dev.pgreclaim.it;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;

/**
 * The "application" the forked-JVM tests start, with or without the agent: opens one connection as the app role and
 * reports the outcome on stdout. Password from env APP_PASSWORD, never on the command line.
 *
 * <p>Args: {@code url user [drivermanager|datasource|logintimeout]}. Prints {@code CONNECTED backend_pid=N} (exit 0)
 * or {@code FAILED sqlstate=S class=C message=M} plus one {@code SUPPRESSED ...} line per suppressed exception
 * (exit 1).
 */
public final class ConnectApp {
  private ConnectApp() {}

  public static void main(String[] args) throws Exception {
    String url = args[0];
    String user = args[1];
    String how = args.length > 2 ? args[2] : "drivermanager";
    String password = System.getenv("APP_PASSWORD");
    long start = System.nanoTime();
    try (Connection connection = open(how, url, user, password)) {
      long micros = (System.nanoTime() - start) / 1000;
      try (Statement statement = connection.createStatement();
          ResultSet rows = statement.executeQuery("select pg_backend_pid()")) {
        rows.next();
        System.out.println("CONNECTED backend_pid=" + rows.getInt(1) + " micros=" + micros);
      }
    } catch (SQLException refused) {
      System.out.println("FAILED sqlstate=" + refused.getSQLState() + " class=" + refused.getClass().getName()
          + " message=" + refused.getMessage());
      for (Throwable suppressed : refused.getSuppressed()) {
        System.out.println("SUPPRESSED " + suppressed);
      }
      System.exit(1);
    }
  }

  static Connection open(String how, String url, String user, String password) throws Exception {
    Properties properties = new Properties();
    properties.setProperty("user", user);
    properties.setProperty("password", password);
    switch (how) {
      case "drivermanager":
        return DriverManager.getConnection(url, properties);
      case "logintimeout":
        properties.setProperty("loginTimeout", "10");
        return DriverManager.getConnection(url, properties);
      case "datasource": {
        Class<?> type = Class.forName("org.postgresql.ds.PGSimpleDataSource");
        Object dataSource = type.getConstructor().newInstance();
        type.getMethod("setURL", String.class).invoke(dataSource, url);
        return (Connection) type.getMethod("getConnection", String.class, String.class)
            .invoke(dataSource, user, password);
      }
      default:
        throw new IllegalArgumentException("unknown open method " + how);
    }
  }
}
