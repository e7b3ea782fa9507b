package dev.pgreclaim.it;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import javax.management.openmbean.CompositeData;
import javax.management.openmbean.TabularData;

/**
 * A service of the reclaim-war tests ({@link NoReclaimWarIT}): one HikariCP pool on the app role (password from env
 * APP_PASSWORD), in one of two behaviours, then a report on stdout and a wait for {@code quit} on stdin (so the test
 * stops watching the server before the pool's sessions go away).
 *
 * <p>Args: {@code url user name maxPoolSize minimumIdle behaviour seconds}.
 * <ul>
 *   <li>{@code traffic}: one caller borrows a connection and runs {@code select 1} every 200 ms for the given seconds;
 *       prints {@code DONE ok=N failed=M} (a failed borrow: {@code getConnection()} or the query threw);</li>
 *   <li>{@code starve}: {@code maxPoolSize - 1} callers each hold a connection in {@code pg_sleep(seconds)}, then one
 *       more caller borrows and prints {@code WAITER GOT pid=P ms=T} or {@code WAITER FAILED ...}, then
 *       {@code DONE}.</li>
 * </ul>
 * Then {@code MBEAN name=value} lines of the agent's MBean (when registered).
 */
public final class PoolApp {
  private static final long TICK_MS = 200;

  private PoolApp() {}

  public static void main(String[] args) throws Exception {
    String url = args[0];
    String user = args[1];
    String name = args[2];
    int maxPoolSize = Integer.parseInt(args[3]);
    int minimumIdle = Integer.parseInt(args[4]);
    String behaviour = args[5];
    int seconds = Integer.parseInt(args[6]);

    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(url);
    config.setUsername(user);
    config.setPassword(System.getenv("APP_PASSWORD"));
    config.setPoolName(name);
    config.setMaximumPoolSize(maxPoolSize);
    config.setMinimumIdle(minimumIdle);
    config.setConnectionTimeout(30_000);
    // Hikari's floor. Its keepalive is how an idle pool learns that one of its pooled sessions was terminated
    // (evict, then refill); the traffic caller keeps reusing its hottest connection, so without it a killed
    // idle session would never be noticed and a war would stall for reasons that have nothing to do with the
    // agent. Production pools run it (HikariCP 6's default is 2 min).
    config.setKeepaliveTime(30_000);
    try (HikariDataSource pool = new HikariDataSource(config)) {
      System.out.println("STARTED " + name);
      if (behaviour.equals("traffic")) {
        traffic(pool, seconds);
      } else if (behaviour.equals("starve")) {
        starve(pool, maxPoolSize - 1, seconds);
      } else {
        throw new IllegalArgumentException("unknown behaviour " + behaviour);
      }
      printMBean();
      System.out.flush();
      awaitQuit();
    }
    System.exit(0);
  }

  private static void traffic(HikariDataSource pool, int seconds) throws InterruptedException {
    long ok = 0;
    long failed = 0;
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    long next = System.nanoTime();
    while (System.nanoTime() < end) {
      try (Connection connection = pool.getConnection();
          Statement statement = connection.createStatement();
          ResultSet rows = statement.executeQuery("select 1")) {
        rows.next();
        ok++;
      } catch (SQLException borrowOrQuery) {
        failed++;
        System.out.println("BORROW FAILED sqlstate=" + borrowOrQuery.getSQLState() + " " + borrowOrQuery);
      }
      next += TimeUnit.MILLISECONDS.toNanos(TICK_MS);
      long pause = next - System.nanoTime();
      if (pause > 0) {
        TimeUnit.NANOSECONDS.sleep(pause);
      }
    }
    System.out.println("DONE ok=" + ok + " failed=" + failed);
  }

  /** Every connection the pool can have, minus one, busy in pg_sleep; then one more caller that must wait. */
  private static void starve(HikariDataSource pool, int holders, int sleepSeconds) throws Exception {
    CountDownLatch borrowed = new CountDownLatch(holders);
    List<Thread> threads = new ArrayList<>();
    for (int i = 0; i < holders; i++) {
      Thread holder = new Thread(() -> {
        try (Connection connection = pool.getConnection(); Statement statement = connection.createStatement()) {
          System.out.println("HOLDING pid=" + pid(connection));
          borrowed.countDown();
          statement.execute("select pg_sleep(" + sleepSeconds + ")");
        } catch (SQLException holderFailed) {
          System.out.println("HOLDER FAILED sqlstate=" + holderFailed.getSQLState() + " " + holderFailed);
        }
      }, "holder-" + i);
      holder.setDaemon(true);
      holder.start();
      threads.add(holder);
    }
    if (!borrowed.await(60, TimeUnit.SECONDS)) {
      System.out.println("WAITER FAILED holders did not get their connections");
      System.out.println("DONE");
      return;
    }
    long start = System.nanoTime();
    try (Connection connection = pool.getConnection()) {
      System.out.println("WAITER GOT pid=" + pid(connection) + " ms="
          + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
    } catch (SQLException waited) {
      System.out.println("WAITER FAILED sqlstate=" + waited.getSQLState() + " " + waited);
    }
    System.out.println("DONE");
  }

  private static int pid(Connection connection) throws SQLException {
    try (Statement statement = connection.createStatement();
        ResultSet rows = statement.executeQuery("select pg_backend_pid()")) {
      rows.next();
      return rows.getInt(1);
    }
  }

  /** Until {@code quit} or end of input; at most 5 minutes, so a test that died leaves no JVM behind for long. */
  private static void awaitQuit() throws Exception {
    Thread reader = new Thread(() -> {
      try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
        String line;
        while ((line = in.readLine()) != null && !line.trim().equals("quit")) {
          // wait for quit
        }
      } catch (Exception closed) {
        // treated as quit
      }
    }, "await-quit");
    reader.setDaemon(true);
    reader.start();
    reader.join(TimeUnit.MINUTES.toMillis(5));
  }

  /**
   * Polls: without JMX of its own the application has no platform server until this creates it, and the agent then
   * registers at its next open or once refusals have been quiet for a while (LazyMBean), not at once.
   */
  private static void printMBean() throws Exception {
    MBeanServer server = ManagementFactory.getPlatformMBeanServer();
    ObjectName name = new ObjectName("dev.pgreclaim:type=Agent");
    long deadline = System.nanoTime() + 20_000_000_000L;
    while (!server.isRegistered(name) && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    if (!server.isRegistered(name)) {
      System.out.println("MBEAN missing");
      return;
    }
    for (var attribute : server.getMBeanInfo(name).getAttributes()) {
      Object value = server.getAttribute(name, attribute.getName());
      System.out.println("MBEAN " + attribute.getName() + "=" + render(value));
    }
  }

  private static String render(Object value) {
    if (value instanceof TabularData table) {
      List<String> entries = new ArrayList<>();
      for (Object row : table.values()) {
        CompositeData entry = (CompositeData) row;
        entries.add(entry.get("key") + "=" + entry.get("value"));
      }
      entries.sort(null);
      return "{" + String.join(",", entries) + "}";
    }
    return String.valueOf(value);
  }
}
