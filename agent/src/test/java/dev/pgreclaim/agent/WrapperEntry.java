package dev.pgreclaim.agent;

import dev.pgreclaim.metrics.ReclaimMetrics;
import dev.pgreclaim.metrics.ReclaimStats;
import dev.pgreclaim.policy.Policy;
import dev.pgreclaim.reclaim.Reclaimer;
import java.lang.reflect.Field;
import java.net.URL;
import java.sql.Connection;
import java.sql.Driver;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The wrapper driver as an application meets it: {@code jdbc:pgreclaim:postgresql:} URLs through
 * {@code dev.pgreclaim.jdbc.PgReclaimDriver}, over the plain pgjdbc of the test class path (no agent here), the policy
 * given as connection properties. The wrapper's classes are loaded afresh for each entry (its counters and its policy
 * cache are JVM-wide statics, as they are in an application), so what this entry counts is this test's alone.
 */
public final class WrapperEntry implements Entry {
  static final String DRIVER = "dev.pgreclaim.jdbc.PgReclaimDriver";
  static final String POLICIES = "dev.pgreclaim.jdbc.EffectivePolicies";

  private final Driver driver;
  private final Class<?> policies;
  private final ReclaimMetrics metrics;
  private final Properties settings = new Properties();

  private WrapperEntry(Driver driver, Class<?> policies, Map<String, String> settings) throws Exception {
    this.driver = driver;
    this.policies = policies;
    this.metrics = (ReclaimMetrics) field(policies, "METRICS").get(null);
    this.settings.putAll(settings);
  }

  /** A fresh wrapper whose opens carry {@code settings} ({@code pgreclaim.*} keys) as connection properties. */
  public static WrapperEntry start(Map<String, String> settings) throws Exception {
    IsolatingLoader loader = new IsolatingLoader(new URL[] {IsolatingLoader.rootOf(DRIVER)},
        List.of("dev.pgreclaim.jdbc."));
    Driver driver = (Driver) Class.forName(DRIVER, true, loader).getConstructor().newInstance();
    return new WrapperEntry(driver, Class.forName(POLICIES, true, loader), settings);
  }

  /** {@code url} behind {@code jdbc:pgreclaim:}; the caller's properties plus the policy's. */
  @Override
  public Connection connect(String url, Properties info) throws SQLException {
    if (!url.startsWith("jdbc:postgresql:")) {
      throw new IllegalArgumentException("not a pgjdbc URL: " + url);
    }
    Properties all = new Properties();
    all.putAll(info);
    all.putAll(settings);
    Connection connection = driver.connect("jdbc:pgreclaim:" + url.substring("jdbc:".length()), all);
    if (connection == null) {
      throw new IllegalArgumentException("the wrapper does not accept " + url);
    }
    return connection;
  }

  @Override
  public ReclaimMetrics metrics() {
    return metrics;
  }

  /** The policy the wrapper built for this entry's opens (there is one: every open carries the same settings). */
  @Override
  public Policy policy() {
    Policy latest = null;
    for (Object entry : entries()) {
      try {
        if (field(entry.getClass(), "handler").get(entry) != null) {
          latest = (Policy) field(entry.getClass(), "policy").get(entry);
        }
      } catch (ReflectiveOperationException changed) {
        throw new IllegalStateException("the wrapper's policy cache changed shape", changed);
      }
    }
    return latest;
  }

  /** What the wrapper's background start registers: its counters and its effective-policy line. */
  @Override
  @SuppressWarnings("unchecked")
  public String registerMBean() {
    try {
      ReclaimStats.unregister(ReclaimStats.JDBC_OBJECT_NAME);
      ReclaimStats.register(ReclaimStats.JDBC_OBJECT_NAME, metrics,
          (AtomicReference<String>) field(policies, "POLICY_LINE").get(null));
    } catch (ReflectiveOperationException changed) {
      throw new IllegalStateException("the wrapper's policy line changed shape", changed);
    }
    return ReclaimStats.JDBC_OBJECT_NAME;
  }

  /** Closes the admin sessions of every reclaimer this entry's opens built. */
  @Override
  public void close() {
    for (Object entry : entries()) {
      try {
        Reclaimer reclaimer = (Reclaimer) field(entry.getClass(), "reclaimer").get(entry);
        if (reclaimer != null) {
          reclaimer.close();
        }
      } catch (ReflectiveOperationException changed) {
        throw new IllegalStateException("the wrapper's policy cache changed shape", changed);
      }
    }
  }

  private List<Object> entries() {
    try {
      Map<?, ?> cache = (Map<?, ?>) field(policies, "ENTRIES").get(null);
      synchronized (cache) {
        return new ArrayList<>(cache.values());
      }
    } catch (ReflectiveOperationException changed) {
      throw new IllegalStateException("the wrapper's policy cache changed shape", changed);
    }
  }

  private static Field field(Class<?> type, String name) throws NoSuchFieldException {
    Field field = type.getDeclaredField(name);
    field.setAccessible(true);
    return field;
  }
}
