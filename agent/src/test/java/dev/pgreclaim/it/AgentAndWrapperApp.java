package dev.pgreclaim.it;

import dev.pgreclaim.jdbc.PgReclaimDataSource;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * An application with the agent attached AND the wrapper jar on its class path, opening as the test tells it on
 * stdin, one line per open: {@code plain} (DriverManager, {@code jdbc:postgresql:} URL: only the agent may act),
 * {@code wrapper} (DriverManager, the same URL behind {@code jdbc:pgreclaim:}) or {@code wrapper-datasource} (the
 * wrapper DataSource around a pgjdbc {@code PGSimpleDataSource}). Before each open it writes {@code STEP n how} to
 * stderr, so the test can tell which open an audit line belongs to, and then prints {@code OPENED n CONNECTED
 * backend_pid=N} or {@code OPENED n FAILED sqlstate=S ...}. Every open is on the main thread (a thread mark the
 * wrapper DataSource left behind would show on the next open). Connections it got stay open inside a transaction:
 * neither a victim nor a spare idle session of this application. {@code STOP} or end of input ends it, after
 * checking every kept connection still works ({@code KEPT ALIVE n}). Args: {@code url user} (the plain URL);
 * password in env APP_PASSWORD.
 */
public final class AgentAndWrapperApp {
  private AgentAndWrapperApp() {}

  public static void main(String[] args) throws Exception {
    String url = args[0];
    String user = args[1];
    String password = System.getenv("APP_PASSWORD");
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    List<Connection> kept = new ArrayList<>();
    int step = 0;
    String line;
    while ((line = in.readLine()) != null && !line.trim().equals("STOP")) {
      String how = line.trim();
      if (how.isEmpty()) {
        continue;
      }
      step++;
      System.err.println("STEP " + step + " " + how);
      System.err.flush();
      try {
        Connection connection = open(how, url, user, password);
        kept.add(connection);
        connection.setAutoCommit(false);
        try (Statement statement = connection.createStatement();
            ResultSet rows = statement.executeQuery("select pg_backend_pid()")) {
          rows.next();
          System.out.println("OPENED " + step + " CONNECTED backend_pid=" + rows.getInt(1));
        }
      } catch (SQLException refused) {
        System.out.println("OPENED " + step + " FAILED sqlstate=" + refused.getSQLState() + " class="
            + refused.getClass().getName() + " message=" + refused.getMessage());
        for (Throwable suppressed : refused.getSuppressed()) {
          System.out.println("SUPPRESSED " + suppressed);
        }
      }
      System.out.flush();
    }
    int alive = 0;
    for (Connection connection : kept) {
      try (Statement statement = connection.createStatement()) {
        statement.execute("select 1");
        alive++;
      } catch (SQLException lost) {
        System.out.println("LOST " + lost.getSQLState() + " " + lost.getMessage());
      }
    }
    System.out.println("KEPT ALIVE " + alive + " of " + kept.size());
    for (Connection connection : kept) {
      connection.close();
    }
  }

  static Connection open(String how, String url, String user, String password) throws Exception {
    Properties properties = new Properties();
    properties.setProperty("user", user);
    properties.setProperty("password", password);
    switch (how) {
      case "plain":
        return DriverManager.getConnection(url, properties);
      case "wrapper":
        return DriverManager.getConnection("jdbc:pgreclaim:" + url.substring("jdbc:".length()), properties);
      case "wrapper-datasource": {
        // the wrapper around the application's own pgjdbc DataSource, which opens through DriverManager
        PGSimpleDataSource target = new PGSimpleDataSource();
        target.setURL(url);
        return new PgReclaimDataSource(target).getConnection(user, password);
      }
      default:
        throw new IllegalArgumentException("unknown open method " + how);
    }
  }
}
