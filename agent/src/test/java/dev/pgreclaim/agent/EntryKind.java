package dev.pgreclaim.agent;

import dev.pgreclaim.metrics.ReclaimMetrics;
import dev.pgreclaim.policy.InvalidPolicyException;
import dev.pgreclaim.policy.PolicyParser;
import dev.pgreclaim.policy.Setting;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Stream;

/**
 * The entry points the safety suite's decisive cases run over
 * ({@code @MethodSource("dev.pgreclaim.agent.EntryKind#all")}), each configured the way an application configures
 * it: the agent from {@code -D} properties and environment twins, the wrapper from connection properties (a secret
 * too: the wrapper refuses secrets in the URL, not in properties).
 */
public enum EntryKind {
  /** {@code -javaagent}: pgjdbc woven by the real weaver, the real interceptor behind it. */
  AGENT {
    @Override
    public Entry start(Map<String, String> settings, Map<String, String> environment) throws Exception {
      Properties system = new Properties();
      system.putAll(settings);
      try {
        return WovenDriver.install(PolicyParser.parse(null, system, environment), new ReclaimMetrics());
      } catch (InvalidPolicyException invalid) {
        // What -javaagent does with it is the agent's activation's business: run exactly that.
        return ActivatedAgent.start(settings, environment);
      }
    }
  },
  /** {@code jdbc:pgreclaim:postgresql:} through the wrapper driver, over the test class path's plain pgjdbc. */
  WRAPPER {
    @Override
    public Entry start(Map<String, String> settings, Map<String, String> environment) throws Exception {
      Map<String, String> properties = new LinkedHashMap<>();
      environment.forEach((name, value) -> properties.put(settingOfEnv(name), value));
      properties.putAll(settings);
      return WrapperEntry.start(properties);
    }
  };

  /**
   * An entry running the policy of {@code settings} ({@code pgreclaim.*} keys, as {@code -D} would give them) and
   * {@code environment} (environment twins such as {@code PGRECLAIM_ADMIN_PASSWORD}).
   */
  public abstract Entry start(Map<String, String> settings, Map<String, String> environment) throws Exception;

  public static Stream<EntryKind> all() {
    return Stream.of(values());
  }

  static String settingOfEnv(String name) {
    for (Setting setting : Setting.values()) {
      if (setting.envKey().equals(name)) {
        return setting.key();
      }
    }
    throw new IllegalArgumentException("no pg-reclaim setting has the environment twin " + name);
  }
}
