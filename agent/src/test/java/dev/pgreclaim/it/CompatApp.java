package dev.pgreclaim.it;

import java.io.File;
import java.lang.management.ManagementFactory;
import java.net.URL;
import java.net.URLClassLoader;
import java.sql.Connection;
import java.sql.Driver;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import javax.management.openmbean.CompositeData;
import javax.management.openmbean.TabularData;

/**
 * The application of the compatibility tests: opens one connection as the app role in a chosen way, from a chosen
 * class-loader setup, and reports on stdout. Password from env APP_PASSWORD.
 *
 * <p>Args: {@code url user how loader [driverJar...]}.
 * <ul>
 *   <li>how: {@code drivermanager} (flat only), {@code driver} ({@code Driver.connect} on an instance from the loader,
 *       as pools and Spring Boot do), {@code logintimeout} ({@code loginTimeout=10}; DriverManager when flat, else
 *       {@code Driver.connect}), {@code datasource} ({@code PGSimpleDataSource}), {@code hikari} (HikariCP pool, flat
 *       only, no initial fill: the pool's {@code getConnection()} is the refused open);</li>
 *   <li>loader: {@code flat} (pgjdbc on the class path), {@code child} (pgjdbc in a {@code URLClassLoader} whose parent
 *       is the system loader), {@code isolated} (parent: the platform loader; the agent jar is invisible there).</li>
 * </ul>
 * Then, with {@code -Dcompat.mbean=true}, prints the agent's MBean attributes ({@code MBEAN name=value}); with
 * {@code -Dcompat.slf4j=true} logs one line through the application's own SLF4J and prints where it came from.
 * Prints {@code CONNECTED backend_pid=N} (exit 0) or {@code FAILED sqlstate=S ...} (exit 1).
 */
public final class CompatApp {
  private CompatApp() {}

  public static void main(String[] args) throws Exception {
    String url = args[0];
    String user = args[1];
    String how = args[2];
    String loaderKind = args[3];
    List<URL> driverJars = new ArrayList<>();
    for (int i = 4; i < args.length; i++) {
      driverJars.add(new File(args[i]).toURI().toURL());
    }
    ClassLoader loader = loader(loaderKind, driverJars.toArray(new URL[0]));
    if (Boolean.getBoolean("compat.slf4j")) {
      Slf4jProbe.run();
    }
    Properties properties = new Properties();
    properties.setProperty("user", user);
    properties.setProperty("password", System.getenv("APP_PASSWORD"));
    int exit = 0;
    try (Connection connection = open(how, loader, url, properties)) {
      try (Statement statement = connection.createStatement();
          ResultSet rows = statement.executeQuery("select pg_backend_pid()")) {
        rows.next();
        System.out.println("CONNECTED backend_pid=" + rows.getInt(1) + " driver_loader="
            + describe(connection.getClass().getClassLoader()));
      }
    } catch (SQLException refused) {
      System.out.println("FAILED sqlstate=" + refused.getSQLState() + " class=" + refused.getClass().getName()
          + " message=" + refused.getMessage());
      for (Throwable suppressed : refused.getSuppressed()) {
        System.out.println("SUPPRESSED " + suppressed);
      }
      exit = 1;
    }
    if (Boolean.getBoolean("compat.mbean")) {
      printMBean();
    }
    System.out.flush();
    System.exit(exit);
  }

  private static ClassLoader loader(String kind, URL[] driverJars) {
    switch (kind) {
      case "flat":
        return ClassLoader.getSystemClassLoader();
      case "child":
        return new URLClassLoader(driverJars, ClassLoader.getSystemClassLoader());
      case "isolated":
        return new URLClassLoader(driverJars, ClassLoader.getPlatformClassLoader());
      default:
        throw new IllegalArgumentException("unknown loader " + kind);
    }
  }

  private static Connection open(String how, ClassLoader loader, String url, Properties properties) throws Exception {
    boolean flat = loader == ClassLoader.getSystemClassLoader();
    switch (how) {
      case "drivermanager":
        requireFlat(flat, how);
        return DriverManager.getConnection(url, properties);
      case "logintimeout":
        properties.setProperty("loginTimeout", "10");
        return flat ? DriverManager.getConnection(url, properties) : driver(loader).connect(url, properties);
      case "driver":
        return driver(loader).connect(url, properties);
      case "datasource": {
        Class<?> type = Class.forName("org.postgresql.ds.PGSimpleDataSource", true, loader);
        Object dataSource = type.getConstructor().newInstance();
        type.getMethod("setURL", String.class).invoke(dataSource, url);
        try {
          return (Connection) type.getMethod("getConnection", String.class, String.class)
              .invoke(dataSource, properties.getProperty("user"), properties.getProperty("password"));
        } catch (java.lang.reflect.InvocationTargetException thrown) {
          throw thrown.getCause() instanceof SQLException sql ? sql : thrown;
        }
      }
      case "hikari":
        requireFlat(flat, how);
        return HikariOpen.open(url, properties);
      default:
        throw new IllegalArgumentException("unknown open method " + how);
    }
  }

  private static void requireFlat(boolean flat, String how) {
    if (!flat) {
      throw new IllegalArgumentException(how + " needs the driver on the class path");
    }
  }

  private static Driver driver(ClassLoader loader) throws Exception {
    return (Driver) Class.forName("org.postgresql.Driver", true, loader).getConstructor().newInstance();
  }

  private static String describe(ClassLoader loader) {
    if (loader == null) {
      return "bootstrap";
    }
    if (loader == ClassLoader.getSystemClassLoader()) {
      return "system";
    }
    ClassLoader parent = loader.getParent();
    return loader.getClass().getSimpleName() + "(parent="
        + (parent == ClassLoader.getSystemClassLoader() ? "system"
            : parent == ClassLoader.getPlatformClassLoader() ? "platform" : String.valueOf(parent)) + ")";
  }

  /** Polls (the agent registers its MBean on a background thread at activation), then prints every attribute. */
  private static void printMBean() throws Exception {
    MBeanServer server = ManagementFactory.getPlatformMBeanServer();
    ObjectName name = new ObjectName("dev.pgreclaim:type=Agent");
    long deadline = System.nanoTime() + 10_000_000_000L;
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
      StringBuilder out = new StringBuilder("{");
      List<String> entries = new ArrayList<>();
      for (Object row : table.values()) {
        CompositeData entry = (CompositeData) row;
        entries.add(entry.get("key") + "=" + entry.get("value"));
      }
      entries.sort(null);
      out.append(String.join(",", entries)).append('}');
      return out.toString();
    }
    return String.valueOf(value);
  }

  /** Links to the application's own SLF4J (any version with {@code Logger.info(String)}). */
  private static final class Slf4jProbe {
    static void run() {
      org.slf4j.Logger logger = org.slf4j.LoggerFactory.getLogger("compat.app");
      logger.info("application line before the open");
      System.out.println("APP_SLF4J from=" + org.slf4j.LoggerFactory.class.getProtectionDomain().getCodeSource()
          .getLocation());
    }
  }

  /** The pool fills nothing up front, so {@code getConnection()} itself makes the open that gets refused. */
  private static final class HikariOpen {
    static Connection open(String url, Properties properties) throws SQLException {
      com.zaxxer.hikari.HikariConfig config = new com.zaxxer.hikari.HikariConfig();
      config.setJdbcUrl(url);
      config.setUsername(properties.getProperty("user"));
      config.setPassword(properties.getProperty("password"));
      config.setMinimumIdle(0);
      config.setMaximumPoolSize(1);
      config.setInitializationFailTimeout(-1);
      config.setConnectionTimeout(20_000);
      config.setPoolName("compat");
      // the pool lives until System.exit at the end of main
      @SuppressWarnings("resource")
      com.zaxxer.hikari.HikariDataSource pool = new com.zaxxer.hikari.HikariDataSource(config);
      return pool.getConnection();
    }
  }
}
