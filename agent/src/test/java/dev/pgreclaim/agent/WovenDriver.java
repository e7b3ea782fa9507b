package dev.pgreclaim.agent;

import dev.pgreclaim.agent.bridge.ConnectBridge;
import dev.pgreclaim.metrics.ReclaimMetrics;
import dev.pgreclaim.policy.Policy;
import dev.pgreclaim.policy.PolicyParser;
import dev.pgreclaim.reclaim.Reclaimer;
import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Driver;
import java.util.Map;
import java.util.Properties;

/**
 * The agent installed in-process, without {@code -javaagent}: pgjdbc loaded from its jar in a fresh child-first class
 * loader (parent: the test's loader, so the bridge is visible, as on a flat class path), its {@code Driver} woven by
 * the real {@link DriverWeaver}, and the real {@link ConnectInterceptor} installed behind the bridge.
 */
public final class WovenDriver implements AutoCloseable {
  private final URLClassLoader loader;
  private final Driver driver;
  private final Reclaimer reclaimer;
  private final ReclaimMetrics metrics;

  private WovenDriver(URLClassLoader loader, Driver driver, Reclaimer reclaimer, ReclaimMetrics metrics) {
    this.loader = loader;
    this.driver = driver;
    this.reclaimer = reclaimer;
    this.metrics = metrics;
  }

  /** Weaves pgjdbc 42.7 and installs a handler running the given policy (system properties style keys). */
  public static WovenDriver install(Map<String, String> settings) throws Exception {
    Properties properties = new Properties();
    settings.forEach(properties::setProperty);
    Policy policy = PolicyParser.parse(null, properties, Map.of());
    ReclaimMetrics metrics = new ReclaimMetrics();
    Reclaimer reclaimer = new Reclaimer(policy, metrics);
    ConnectBridge.install(new ConnectInterceptor(reclaimer, metrics));
    URLClassLoader loader = new WeavingLoader(pgjdbcJar());
    Driver driver = (Driver) Class.forName("org.postgresql.Driver", true, loader).getConstructor().newInstance();
    return new WovenDriver(loader, driver, reclaimer, metrics);
  }

  static Path pgjdbcJar() {
    Path jar = Path.of(System.getProperty("pgreclaim.test.appLibs", "target/app-libs"), "postgresql-42.7.jar");
    if (!Files.isRegularFile(jar)) {
      throw new IllegalStateException("missing " + jar.toAbsolutePath() + " (mvn generate-test-resources)");
    }
    return jar;
  }

  public Driver driver() {
    return driver;
  }

  public ReclaimMetrics metrics() {
    return metrics;
  }

  @Override
  public void close() throws IOException {
    ConnectBridge.install(null);
    reclaimer.close();
    loader.close();
  }

  /** Child-first for org.postgresql.*, weaving the Driver class on definition. */
  private static final class WeavingLoader extends URLClassLoader {
    static {
      registerAsParallelCapable();
    }

    WeavingLoader(Path jar) throws IOException {
      super(new URL[] {jar.toUri().toURL()}, WovenDriver.class.getClassLoader());
    }

    @Override
    protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
      if (!name.startsWith("org.postgresql.")) {
        return super.loadClass(name, resolve);
      }
      synchronized (getClassLoadingLock(name)) {
        Class<?> loaded = findLoadedClass(name);
        if (loaded == null) {
          loaded = name.equals(DriverWeaver.DRIVER_NAME) ? defineWoven(name) : findClass(name);
        }
        if (resolve) {
          resolveClass(loaded);
        }
        return loaded;
      }
    }

    private Class<?> defineWoven(String name) throws ClassNotFoundException {
      try (InputStream in = getResourceAsStream(name.replace('.', '/') + ".class")) {
        byte[] original = in.readAllBytes();
        byte[] woven = DriverWeaver.weave(this, original);
        return defineClass(name, woven, 0, woven.length);
      } catch (IOException e) {
        throw new ClassNotFoundException(name, e);
      }
    }
  }
}
