package dev.pgreclaim.it;

import java.lang.management.ManagementFactory;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;
import javax.management.MBeanServer;
import javax.management.MBeanServerFactory;
import javax.management.ObjectName;

/**
 * The application of {@link MBeanRegistrationIT}: an application without JMX of its own. Loads the driver, waits
 * until the agent's background start-up thread ({@code pg-reclaim-init}) has ended, prints
 * {@code PLATFORM_SERVER_BEFORE=true|false} (looked up, never created), then:
 * <ul>
 *   <li>{@code refusal}: opens once (the role is full: refused, recovered by the agent) and prints
 *       {@code CONNECTED} or {@code FAILED sqlstate=S}, then whether the platform server exists right after the
 *       open and half a second later ({@code PLATFORM_SERVER_AT_OPEN_END},
 *       {@code PLATFORM_SERVER_HALF_A_SECOND_LATER});</li>
 *   <li>{@code late-jmx}: creates the platform MBean server itself, then opens and closes a connection every 200 ms
 *       until the agent's MBean shows (at most 15 s), printing {@code OPENS n}.</li>
 * </ul>
 * Then waits (at most 10 s) for {@code dev.pgreclaim:type=Agent} on a server that exists, without creating one, and
 * prints {@code MBEAN_REGISTERED=true|false} and, when registered, {@code MBEAN Terminations=n}. Args:
 * {@code how url user}; password from env APP_PASSWORD.
 */
public final class JmxApp {
  private static final String AGENT_BEAN = "dev.pgreclaim:type=Agent";

  private JmxApp() {}

  public static void main(String[] args) throws Exception {
    String how = args[0];
    Properties login = new Properties();
    login.setProperty("user", args[2]);
    login.setProperty("password", System.getenv("APP_PASSWORD"));
    Class.forName("org.postgresql.Driver");
    awaitInitThread();
    System.out.println("PLATFORM_SERVER_BEFORE=" + (serverWith("java.lang:type=Runtime") != null));
    if (how.equals("refusal")) {
      try (Connection connection = DriverManager.getConnection(args[1], login)) {
        System.out.println("CONNECTED");
      } catch (SQLException refused) {
        System.out.println("FAILED sqlstate=" + refused.getSQLState());
      }
      // the platform server must not be created while the reclaim runs, nor right after it (it waits for quiet)
      System.out.println("PLATFORM_SERVER_AT_OPEN_END=" + (serverWith("java.lang:type=Runtime") != null));
      Thread.sleep(500);
      System.out.println("PLATFORM_SERVER_HALF_A_SECOND_LATER=" + (serverWith("java.lang:type=Runtime") != null));
    } else {
      ManagementFactory.getPlatformMBeanServer();
      int opens = 0;
      long until = System.nanoTime() + 15_000_000_000L;
      while (serverWith(AGENT_BEAN) == null && System.nanoTime() < until) {
        DriverManager.getConnection(args[1], login).close();
        opens++;
        Thread.sleep(200);
      }
      System.out.println("OPENS " + opens);
    }
    long until = System.nanoTime() + 10_000_000_000L;
    MBeanServer server = serverWith(AGENT_BEAN);
    while (server == null && System.nanoTime() < until) {
      Thread.sleep(20);
      server = serverWith(AGENT_BEAN);
    }
    System.out.println("MBEAN_REGISTERED=" + (server != null));
    if (server != null) {
      System.out.println("MBEAN Terminations=" + server.getAttribute(new ObjectName(AGENT_BEAN), "Terminations"));
    }
    System.out.flush();
  }

  /** A registered MBean server (never creating one) that has {@code name}, or null. */
  private static MBeanServer serverWith(String name) throws Exception {
    ObjectName objectName = new ObjectName(name);
    for (MBeanServer server : MBeanServerFactory.findMBeanServer(null)) {
      if (server.isRegistered(objectName)) {
        return server;
      }
    }
    return null;
  }

  private static void awaitInitThread() throws InterruptedException {
    long until = System.nanoTime() + 30_000_000_000L;
    Thread.sleep(100);
    while (System.nanoTime() < until) {
      boolean alive = false;
      for (Thread thread : Thread.getAllStackTraces().keySet()) {
        alive |= thread.getName().equals("pg-reclaim-init") && thread.isAlive();
      }
      if (!alive) {
        return;
      }
      Thread.sleep(20);
    }
    System.out.println("INIT STILL RUNNING");
  }
}
