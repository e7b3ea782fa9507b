package dev.pgreclaim.it;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * An application started WITHOUT the agent, for attach tests. Opens and closes one connection at start (so
 * {@code org.postgresql.Driver} is loaded before any agent arrives), prints {@code READY <jvm pid>}, then per stdin
 * line {@code OPEN} opens one connection and prints {@code CONNECTED backend_pid=N} or {@code FAILED sqlstate=S ...},
 * keeping connections it got open; {@code MBEAN} prints every attribute of the agent's MBean as
 * {@code MBEAN name=value} lines and then {@code MBEAN END} ({@code MBEAN none} while it is not registered);
 * {@code STOP} or end of input ends it. Args: {@code url user}; password in env APP_PASSWORD.
 */
public final class AttachApp {
  private AttachApp() {}

  public static void main(String[] args) throws Exception {
    String url = args[0];
    String user = args[1];
    String password = System.getenv("APP_PASSWORD");
    ConnectApp.open("drivermanager", url, user, password).close();
    String jvm = ManagementFactory.getRuntimeMXBean().getName();
    System.out.println("READY " + jvm.substring(0, jvm.indexOf('@')));
    System.out.flush();
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    java.util.List<Connection> held = new java.util.ArrayList<>();
    String line;
    while ((line = in.readLine()) != null && !line.trim().equals("STOP")) {
      if (line.trim().equals("MBEAN")) {
        printMBean();
        continue;
      }
      if (!line.trim().equals("OPEN")) {
        continue;
      }
      try {
        Connection connection = ConnectApp.open("drivermanager", url, user, password);
        held.add(connection);
        try (Statement statement = connection.createStatement();
            ResultSet rows = statement.executeQuery("select pg_backend_pid()")) {
          rows.next();
          System.out.println("CONNECTED backend_pid=" + rows.getInt(1));
        }
      } catch (SQLException refused) {
        System.out.println("FAILED sqlstate=" + refused.getSQLState() + " message=" + refused.getMessage());
        for (Throwable suppressed : refused.getSuppressed()) {
          System.out.println("SUPPRESSED " + suppressed);
        }
      }
      System.out.flush();
    }
    System.out.println("STOPPED");
    for (Connection connection : held) {
      connection.close();
    }
  }

  private static void printMBean() throws Exception {
    javax.management.MBeanServer server = ManagementFactory.getPlatformMBeanServer();
    javax.management.ObjectName name = new javax.management.ObjectName("dev.pgreclaim:type=Agent");
    if (!server.isRegistered(name)) {
      System.out.println("MBEAN none");
    } else {
      for (javax.management.MBeanAttributeInfo attribute : server.getMBeanInfo(name).getAttributes()) {
        System.out.println("MBEAN " + attribute.getName() + "=" + server.getAttribute(name, attribute.getName()));
      }
      System.out.println("MBEAN END");
    }
    System.out.flush();
  }
}
