package dev.pgreclaim.agent;

import dev.pgreclaim.agent.bridge.ConnectBridge;
import dev.pgreclaim.metrics.ReclaimMetrics;
import dev.pgreclaim.metrics.ReclaimStats;
import dev.pgreclaim.policy.Policy;
import dev.pgreclaim.policy.PolicyParser;
import dev.pgreclaim.reclaim.Reclaimer;
import dev.pgreclaim.reclaim.VictimQuery;
import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Driver;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

/**
 * The agent installed in-process, without {@code -javaagent}: pgjdbc loaded from its jar in a fresh child-first class
 * loader (parent: the test's loader, so the bridge is visible, as on a flat class path), its {@code Driver} woven by
 * the real {@link DriverWeaver}, and the real {@link ConnectInterceptor} installed behind the bridge. Every open goes
 * through the woven {@code connect}: its retry loop and its {@code throw} of the first refusal are the ones under test.
 *
 * <p>What the woven method hands the agent is recorded ({@link #appFailures()}), so a test can check that the caller
 * got the very object the driver threw; an {@link ExitHook} lets a test act at a chosen exit (fill a freed slot before
 * the retry, stop the server between the refusal and the reclaim).
 */
public final class WovenDriver implements Entry {
  private final Driver driver;
  private final Policy policy;
  private final Reclaimer reclaimer;
  private final ReclaimMetrics metrics;
  private final Recorder recorder;

  /** One exit of the woven {@code connect} as the bridge saw it. */
  public record Exit(String url, Properties info, Throwable thrown) {
    /** True for the agent's own admin login (it opens through the same woven driver). */
    public boolean admin() {
      return VictimQuery.ADMIN_APPLICATION_NAME.equals(info == null ? null : info.getProperty("ApplicationName"));
    }
  }

  /** Test code run at an exit of the woven {@code connect}, on the opening thread. */
  public interface ExitHook {
    /** Before the agent sees the outcome of this run of the open. */
    default void before(Exit exit) throws Exception {}

    /** After the agent answered; {@code retry}: the woven method re-runs the open. */
    default void after(Exit exit, boolean retry) throws Exception {}
  }

  private WovenDriver(Driver driver, Policy policy, Reclaimer reclaimer, ReclaimMetrics metrics,
      Recorder recorder) {
    this.driver = driver;
    this.policy = policy;
    this.reclaimer = reclaimer;
    this.metrics = metrics;
    this.recorder = recorder;
  }

  /** Weaves pgjdbc 42.7 and installs a handler running the given policy (system properties style keys). */
  public static WovenDriver install(Map<String, String> settings) throws Exception {
    Properties properties = new Properties();
    settings.forEach(properties::setProperty);
    return install(PolicyParser.parse(null, properties, Map.of()), new ReclaimMetrics());
  }

  /** Weaves pgjdbc 42.7 and installs the real interceptor running {@code policy}, counting into {@code metrics}. */
  public static WovenDriver install(Policy policy, ReclaimMetrics metrics) throws Exception {
    Reclaimer reclaimer = new Reclaimer(policy, metrics);
    Recorder recorder = new Recorder(new ConnectInterceptor(reclaimer, metrics));
    ConnectBridge.install(recorder);
    URLClassLoader loader = new WeavingLoader(pgjdbcJar());
    Driver driver = (Driver) Class.forName("org.postgresql.Driver", true, loader).getConstructor().newInstance();
    return new WovenDriver(driver, policy, reclaimer, metrics, recorder);
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

  @Override
  public ReclaimMetrics metrics() {
    return metrics;
  }

  @Override
  public Policy policy() {
    return policy;
  }

  /** What the agent's activation registers, with this policy's line (the activation is bypassed here). */
  @Override
  public String registerMBean() {
    ReclaimStats.unregister();
    ReclaimStats.register(metrics, policy.toString());
    return ReclaimStats.OBJECT_NAME;
  }

  /** Through the woven {@code connect}, as {@code DriverManager} would call it. */
  @Override
  public Connection connect(String url, Properties info) throws SQLException {
    return driver.connect(url, info);
  }

  public Reclaimer reclaimer() {
    return reclaimer;
  }

  /** Runs {@code hook} at every later exit of the woven {@code connect} (replacing an earlier hook). */
  public void hook(ExitHook hook) {
    recorder.hook = hook;
  }

  /**
   * Every exception the woven method's original body threw in an application's open (not the agent's own admin
   * login), in order: the first refusal of an open and the failures of its retries.
   */
  public List<Throwable> appFailures() {
    return List.copyOf(recorder.appFailures);
  }

  @Override
  public void close() {
    ConnectBridge.install(null);
    reclaimer.close();
    // The loader stays open: connections it made may outlive this object (a test keeps them until its own end), and
    // closing or aborting them loads more pgjdbc classes.
    if (recorder.hookFailure != null) {
      throw new AssertionError("an exit hook failed (the agent then saw a bridge failure)", recorder.hookFailure);
    }
  }

  /** The bridge's handler: the real interceptor, with the exits recorded and the test's hook around it. */
  private static final class Recorder implements Function<Object[], Object> {
    private final ConnectInterceptor interceptor;
    private final List<Throwable> appFailures = new CopyOnWriteArrayList<>();
    private volatile ExitHook hook;
    private volatile Throwable hookFailure;

    Recorder(ConnectInterceptor interceptor) {
      this.interceptor = interceptor;
    }

    @Override
    public Object apply(Object[] call) {
      // the bridge hands {driver, url, info, result, thrown, round}
      Exit exit = new Exit((String) call[1], (Properties) call[2], (Throwable) call[4]);
      if (!exit.admin() && exit.thrown() != null) {
        appFailures.add(exit.thrown());
      }
      ExitHook current = hook;
      run(current, exit, null);
      Object answer = interceptor.apply(call);
      run(current, exit, answer == Boolean.TRUE);
      return answer;
    }

    private void run(ExitHook current, Exit exit, Boolean retry) {
      if (current == null) {
        return;
      }
      try {
        if (retry == null) {
          current.before(exit);
        } else {
          current.after(exit, retry);
        }
      } catch (Exception | AssertionError failure) {
        if (hookFailure == null) {
          hookFailure = failure;
        }
      }
    }
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
