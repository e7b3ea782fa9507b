package dev.pgreclaim.it;

import dev.pgreclaim.testkit.PostgresServer;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The server's side of a reclaim-war scenario: polls {@code pg_stat_activity} for one role every 100 ms (as
 * superuser, on its own connection) and records each backend pid that disappears while the watch runs. A HikariCP
 * pool with minimumIdle = maximumPoolSize closes none of its sessions itself for 30 minutes (maxLifetime; no idle
 * retirement), so with such pools a vanished pid is a terminated session, whoever terminated it.
 */
final class RoleSessionWatch implements AutoCloseable {
  private static final long POLL_MS = 100;

  /** A backend that was seen and is gone, {@code atMillis} after the watch started. */
  record Vanished(int pid, long atMillis) {}

  private final long startNanos = System.nanoTime();
  private final Connection connection;
  private final PreparedStatement query;
  private final Thread thread;
  private final Map<Integer, Integer> sightings = new HashMap<>();
  private final List<Vanished> vanished = new ArrayList<>();
  private Set<Integer> live = Set.of();
  private volatile boolean stopped;
  private volatile Exception failure;

  private RoleSessionWatch(PostgresServer server, String role) throws SQLException {
    connection = server.connectAsSuperuser("postgres");
    query = connection.prepareStatement("select pid from pg_catalog.pg_stat_activity where usename = ?");
    query.setString(1, role);
    query.setQueryTimeout(10);
    thread = new Thread(this::poll, "role-session-watch-" + role);
    thread.setDaemon(true);
  }

  static RoleSessionWatch start(PostgresServer server, String role) throws SQLException {
    RoleSessionWatch watch = new RoleSessionWatch(server, role);
    watch.thread.start();
    return watch;
  }

  /** Milliseconds since the watch started: the scenario's clock. */
  long millis() {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
  }

  synchronized Set<Integer> live() {
    return live;
  }

  synchronized List<Vanished> vanished() {
    return List.copyOf(vanished);
  }

  /** Waits until at least {@code count} sessions of the role are connected; false after the timeout. */
  boolean awaitLive(int count, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (live().size() >= count) {
        return true;
      }
      Thread.sleep(POLL_MS);
    }
    return false;
  }

  private void poll() {
    while (!stopped) {
      try {
        Set<Integer> now = new HashSet<>();
        try (ResultSet rows = query.executeQuery()) {
          while (rows.next()) {
            now.add(rows.getInt(1));
          }
        }
        record(now);
        Thread.sleep(POLL_MS);
      } catch (InterruptedException interrupted) {
        return;
      } catch (SQLException | RuntimeException broken) {
        failure = broken;
        return;
      }
    }
  }

  private synchronized void record(Set<Integer> now) {
    long at = millis();
    for (Integer pid : live) {
      // Seen twice (>= 100 ms alive) first: a login the server refuses is never counted as a terminated session.
      if (!now.contains(pid) && sightings.getOrDefault(pid, 0) >= 2) {
        vanished.add(new Vanished(pid, at));
      }
    }
    for (Integer pid : now) {
      sightings.merge(pid, 1, Integer::sum);
    }
    live = Set.copyOf(now);
  }

  /** Stops polling (idempotent); throws if the watch broke (then its counts are not the server's). */
  @Override
  public void close() throws Exception {
    if (stopped) {
      return;
    }
    stopped = true;
    thread.interrupt();
    thread.join(TimeUnit.SECONDS.toMillis(15));
    try {
      connection.close();
    } catch (SQLException alreadyGone) {
      // nothing left to release
    }
    if (failure != null) {
      throw new IllegalStateException("the pg_stat_activity watch broke", failure);
    }
  }
}
