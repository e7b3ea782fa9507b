package dev.pgreclaim.testkit;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Sessions held open by the test JVM in a chosen pg_stat_activity state: cheaper than an {@code IdleHolder} process
 * each, and the server cannot tell the difference (a backend is a backend; only its state matters to the victim rules).
 */
public final class HeldSessions implements AutoCloseable {
  private final PostgresServer server;
  private final List<Connection> connections = new ArrayList<>();
  private final ExecutorService active = Executors.newCachedThreadPool(task -> {
    Thread thread = new Thread(task, "held-active-session");
    thread.setDaemon(true);
    return thread;
  });

  public HeldSessions(PostgresServer server) {
    this.server = server;
  }

  public enum State { IDLE, IDLE_IN_TRANSACTION, IDLE_IN_TRANSACTION_ABORTED, ADVISORY_LOCK, ACTIVE }

  /** Opens a session and leaves it in {@code state}; returns its backend pid. */
  public int hold(String url, String user, String password, State state, String applicationName) throws Exception {
    Properties info = new Properties();
    info.setProperty("user", user);
    info.setProperty("password", password);
    if (applicationName != null) {
      info.setProperty("ApplicationName", applicationName);
    }
    Connection connection = DriverManager.getConnection(url, info);
    connections.add(connection);
    int pid;
    try (Statement statement = connection.createStatement();
        ResultSet rows = statement.executeQuery("select pg_catalog.pg_backend_pid()")) {
      rows.next();
      pid = rows.getInt(1);
    }
    switch (state) {
      case IDLE:
        break;
      case IDLE_IN_TRANSACTION:
        connection.setAutoCommit(false);
        connection.createStatement().execute("select 1");
        break;
      case IDLE_IN_TRANSACTION_ABORTED:
        connection.setAutoCommit(false);
        try {
          connection.createStatement().execute("select 1/0");
        } catch (SQLException expected) {
          // the transaction is now aborted and stays open
        }
        break;
      case ADVISORY_LOCK:
        connection.createStatement().execute("select pg_catalog.pg_advisory_lock(42)");
        break;
      case ACTIVE:
        active.submit(() -> {
          connection.createStatement().execute("select pg_catalog.pg_sleep(120)");
          return null;
        });
        awaitState(pid, "active");
        break;
      default:
        throw new IllegalArgumentException(String.valueOf(state));
    }
    return pid;
  }

  public void awaitState(int pid, String state) throws Exception {
    for (int i = 0; i < 500; i++) {
      if (state.equals(stateOf(pid))) {
        return;
      }
      Thread.sleep(10);
    }
    throw new IllegalStateException("pid " + pid + " never reached state " + state + " (is " + stateOf(pid) + ")");
  }

  /** The state a superuser sees, or null when the backend is gone. */
  public String stateOf(int pid) throws SQLException {
    try (Connection superuser = server.connectAsSuperuser("postgres");
        PreparedStatement statement = superuser.prepareStatement("select state from pg_stat_activity where pid = ?")) {
      statement.setInt(1, pid);
      try (ResultSet rows = statement.executeQuery()) {
        return rows.next() ? rows.getString(1) : null;
      }
    }
  }

  public boolean alive(int pid) throws SQLException {
    try (Connection superuser = server.connectAsSuperuser("postgres");
        PreparedStatement statement =
            superuser.prepareStatement("select count(*) from pg_stat_activity where pid = ?")) {
      statement.setInt(1, pid);
      try (ResultSet rows = statement.executeQuery()) {
        rows.next();
        return rows.getInt(1) > 0;
      }
    }
  }

  /**
   * Waits until every pid has been {@code idle} for at least {@code millis} by the server's clock (what the agent's
   * {@code min-idle} rule reads), at most {@code millis} + 10 s; throws when one never gets there.
   */
  public void awaitIdleFor(long millis, int... pids) throws Exception {
    long until = System.nanoTime() + (millis + 10_000) * 1_000_000;
    for (int pid : pids) {
      while (true) {
        try (Connection superuser = server.connectAsSuperuser("postgres");
            PreparedStatement statement = superuser.prepareStatement("select state = 'idle' and clock_timestamp()"
                + " - state_change >= cast(? as float8) * interval '1 millisecond'"
                + " from pg_stat_activity where pid = ?")) {
          statement.setLong(1, millis);
          statement.setInt(2, pid);
          try (ResultSet rows = statement.executeQuery()) {
            if (rows.next() && rows.getBoolean(1)) {
              break;
            }
          }
        }
        if (System.nanoTime() > until) {
          throw new IllegalStateException("pid " + pid + " not idle for " + millis + " ms (state " + stateOf(pid)
              + ")");
        }
        Thread.sleep(Math.min(50, Math.max(5, millis / 10)));
      }
    }
  }

  /** Waits until the backend has left pg_stat_activity (a terminated session exits shortly after the signal). */
  public boolean gone(int pid) throws Exception {
    for (int i = 0; i < 300; i++) {
      if (!alive(pid)) {
        return true;
      }
      Thread.sleep(10);
    }
    return false;
  }

  public void keep(Connection connection) {
    connections.add(connection);
  }

  @Override
  public void close() {
    for (Connection connection : connections) {
      try {
        connection.abort(Runnable::run);
      } catch (SQLException | RuntimeException ignored) {
        // already terminated by the test
      }
    }
    active.shutdownNow();
  }
}
