package dev.pgreclaim.agent;

import dev.pgreclaim.metrics.ReclaimMetrics;
import dev.pgreclaim.metrics.ReclaimStats;
import dev.pgreclaim.policy.Policy;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.net.URL;
import java.sql.Connection;
import java.sql.Driver;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.StringJoiner;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The agent as {@code -javaagent:pg-reclaim-agent.jar=ARGS} meets pgjdbc: {@code org.postgresql.Driver} defined
 * through the real {@link Activation#weave} (what the agent's transformer calls), which reads and validates the policy
 * once. The agent's classes are loaded afresh (its activation state is per JVM), pgjdbc from its jar beside them. Used
 * for what only the activation decides: an invalid configuration leaves the driver unwoven and says why once.
 */
final class ActivatedAgent implements Entry {
  private final Driver driver;
  private final Class<?> activation;

  private ActivatedAgent(Driver driver, Class<?> activation) {
    this.driver = driver;
    this.activation = activation;
  }

  /** The policy of {@code settings} and {@code environment} given as agent arguments (the JVM's own are not read). */
  static ActivatedAgent start(Map<String, String> settings, Map<String, String> environment) throws Exception {
    StringJoiner args = new StringJoiner(";");
    environment.forEach((name, value) -> args.add(EntryKind.settingOfEnv(name) + "=" + value));
    settings.forEach((key, value) -> args.add(key + "=" + value));
    ActivatingLoader loader = new ActivatingLoader(args.toString());
    Driver driver = (Driver) Class.forName("org.postgresql.Driver", true, loader).getConstructor().newInstance();
    return new ActivatedAgent(driver, Class.forName(Activation.class.getName(), true, loader));
  }

  @Override
  public Connection connect(String url, Properties info) throws SQLException {
    return driver.connect(url, info);
  }

  /** The activation's counters; zero when it never activated (inert). */
  @Override
  public ReclaimMetrics metrics() {
    ReclaimMetrics metrics = (ReclaimMetrics) staticField("metrics");
    return metrics == null ? new ReclaimMetrics() : metrics;
  }

  @Override
  public Policy policy() {
    return (Policy) staticField("policy");
  }

  @Override
  @SuppressWarnings("unchecked")
  public String registerMBean() {
    ReclaimStats.unregister();
    ReclaimStats.register(metrics(), (AtomicReference<String>) staticField("POLICY_LINE"));
    return ReclaimStats.OBJECT_NAME;
  }

  @Override
  public void close() {
    Object reclaimer = staticField("reclaimer");
    if (reclaimer != null) {
      ((dev.pgreclaim.reclaim.Reclaimer) reclaimer).close();
    }
  }

  private Object staticField(String name) {
    try {
      Field field = activation.getDeclaredField(name);
      field.setAccessible(true);
      synchronized (activation) {
        return field.get(null);
      }
    } catch (ReflectiveOperationException changed) {
      throw new IllegalStateException("Activation changed shape", changed);
    }
  }

  /** The agent's classes and pgjdbc, child-first; the driver class goes through this loader's Activation.weave. */
  private static final class ActivatingLoader extends IsolatingLoader {
    private final String agentArgs;

    ActivatingLoader(String agentArgs) {
      super(new URL[] {rootOf(Activation.class.getName()), toUrl()}, List.of("dev.pgreclaim.agent.",
          "org.postgresql."));
      this.agentArgs = agentArgs;
    }

    private static URL toUrl() {
      try {
        return WovenDriver.pgjdbcJar().toUri().toURL();
      } catch (java.net.MalformedURLException cannotBe) {
        throw new IllegalStateException(cannotBe);
      }
    }

    @Override
    protected Class<?> defineOwn(String name) throws ClassNotFoundException {
      if (!name.equals(DriverWeaver.DRIVER_NAME)) {
        return super.defineOwn(name);
      }
      byte[] original = classBytes(name);
      byte[] woven;
      try {
        Method weave = Class.forName(Activation.class.getName(), true, this)
            .getDeclaredMethod("weave", String.class, ClassLoader.class, byte[].class);
        weave.setAccessible(true);
        woven = (byte[]) weave.invoke(null, agentArgs, this, original);
      } catch (ReflectiveOperationException cannotCall) {
        throw new ClassNotFoundException(name, cannotCall);
      }
      // null: the transformer leaves the class as it was, as the JVM does
      byte[] defined = woven == null ? original : woven;
      return defineClass(name, defined, 0, defined.length);
    }
  }
}
