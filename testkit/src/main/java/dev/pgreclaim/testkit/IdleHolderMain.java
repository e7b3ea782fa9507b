package dev.pgreclaim.testkit;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;

/**
 * Main class of {@link IdleHolder}: {@code IdleHolderMain <url> <user> <HoldState> <applicationName>}, password in
 * env {@value IdleHolder#PASSWORD_ENV}. Prints {@code READY <backend pid>} once the state is reached, then exits when
 * stdin closes or a line {@code STOP} arrives. If the held session's query fails (ACTIVE), prints
 * {@code QUERY_FAILED <sqlstate> <message>} and keeps waiting for STOP.
 */
public final class IdleHolderMain {

  private IdleHolderMain() {}

  public static void main(String[] args) throws Exception {
    if (args.length < 3) {
      System.err.println(
          "usage: IdleHolderMain <url> <user> <IDLE|IDLE_IN_TRANSACTION|ADVISORY_LOCK|ACTIVE> [applicationName]");
      System.exit(2);
    }
    String url = args[0];
    String user = args[1];
    IdleHolder.HoldState state = IdleHolder.HoldState.valueOf(args[2]);
    String appName = args.length > 3 ? args[3] : "";
    String password = System.getenv(IdleHolder.PASSWORD_ENV);

    Properties props = new Properties();
    props.setProperty("user", user);
    if (password != null) {
      props.setProperty("password", password);
    }
    if (!appName.isEmpty()) {
      props.setProperty("ApplicationName", appName);
    }
    props.setProperty("connectTimeout", "10");
    Connection c = DriverManager.getConnection(url, props);
    int pid;
    try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("select pg_catalog.pg_backend_pid()")) {
      rs.next();
      pid = rs.getInt(1);
    }
    switch (state) {
      case IDLE -> { }
      case IDLE_IN_TRANSACTION -> {
        c.setAutoCommit(false);
        try (Statement st = c.createStatement()) {
          st.execute("select 1");
        }
      }
      case ADVISORY_LOCK -> {
        try (Statement st = c.createStatement()) {
          st.execute("select pg_catalog.pg_advisory_lock(42)");
        }
      }
      case ACTIVE -> {
        Thread watcher = new Thread(() -> {
          waitForStop();
          System.exit(0);
        }, "stdin-watcher");
        watcher.setDaemon(true);
        watcher.start();
        ready(pid);
        try (Statement st = c.createStatement()) {
          st.execute("select pg_sleep(3600)");
          System.out.println("QUERY_DONE");
        } catch (SQLException e) {
          System.out.println("QUERY_FAILED " + e.getSQLState() + " " + e.getMessage().replace('\n', ' '));
        }
        System.out.flush();
        watcher.join();
        return;
      }
      default -> throw new IllegalStateException(state.toString());
    }
    ready(pid);
    waitForStop();
    try {
      c.close();
    } catch (SQLException e) {
      // the server may have ended the session
    }
    System.exit(0);
  }

  private static void ready(int pid) {
    System.out.println("READY " + pid);
    System.out.flush();
  }

  private static void waitForStop() {
    try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
      String line;
      while ((line = in.readLine()) != null) {
        if (line.trim().equals("STOP")) {
          return;
        }
      }
    } catch (Exception e) {
      // treat as stdin closed
    }
  }
}
