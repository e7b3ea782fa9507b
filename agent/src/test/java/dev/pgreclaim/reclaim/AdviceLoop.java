package dev.pgreclaim.reclaim;

import dev.pgreclaim.agent.Entry;
import dev.pgreclaim.agent.EntryKind;
import dev.pgreclaim.agent.WovenDriver;
import dev.pgreclaim.metrics.ReclaimMetrics;
import dev.pgreclaim.policy.InvalidPolicyException;
import dev.pgreclaim.policy.Policy;
import dev.pgreclaim.policy.PolicyParser;
import java.sql.Connection;
import java.sql.Driver;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;

/**
 * pg-reclaim as an application meets it, in this JVM, through one {@link EntryKind}: by default the agent, whose opens
 * go through a pgjdbc {@code Driver} woven by the real weaver, whose woven {@code connect} calls the real bridge and
 * interceptor ({@link WovenDriver}); or the wrapper driver ({@code jdbc:pgreclaim:},
 * {@link dev.pgreclaim.agent.WrapperEntry}). The retry loop and the exception the caller gets are the entry's own; this
 * class only builds the policy and opens.
 * (It once held a copy of the retry loop on an unwoven driver; the name stayed so other tests keep compiling.)
 */
final class AdviceLoop implements AutoCloseable {
  final Entry entry;
  final ReclaimMetrics metrics;
  /** The agent's woven driver; null for the wrapper. */
  final WovenDriver woven;
  /** The agent's reclaimer; null for the wrapper. */
  final Reclaimer reclaimer;
  /** The woven driver: also the one the agent opens its admin session through, as in an application (agent only). */
  final Driver driver;

  AdviceLoop(Policy policy) {
    this(installed(policy));
  }

  private AdviceLoop(Entry entry) {
    this.entry = entry;
    this.metrics = entry.metrics();
    this.woven = entry instanceof WovenDriver agent ? agent : null;
    this.reclaimer = woven == null ? null : woven.reclaimer();
    this.driver = woven == null ? null : woven.driver();
  }

  private static WovenDriver installed(Policy policy) {
    try {
      return WovenDriver.install(policy, new ReclaimMetrics());
    } catch (Exception cannotWeave) {
      throw new IllegalStateException("cannot weave pgjdbc for the test", cannotWeave);
    }
  }

  /** The policy the entry acts on (the wrapper builds it at its first open). */
  Policy policy() {
    return entry.policy();
  }

  /** A policy from properties only ({@code pgreclaim.} keys), as {@code -D} would give them. */
  static AdviceLoop of(Map<String, String> properties) throws InvalidPolicyException {
    Properties system = new Properties();
    system.putAll(properties);
    return new AdviceLoop(PolicyParser.parse(null, system, Map.of()));
  }

  /** The same policy through {@code kind} (for the wrapper: as connection properties). */
  static AdviceLoop of(EntryKind kind, Map<String, String> properties) throws Exception {
    return new AdviceLoop(kind.start(properties, Map.of()));
  }

  /** terminate mode for the seed's admin role, as {@code AgentRun.terminating} sets it, plus overrides. */
  static AdviceLoop terminating(String admin, String adminPassword, Map<String, String> overrides)
      throws InvalidPolicyException {
    Properties system = new Properties();
    system.putAll(terminatingSettings(admin, overrides));
    return new AdviceLoop(PolicyParser.parse(null, system, passwordEnvironment(adminPassword)));
  }

  /**
   * The same policy through {@code kind}: the agent with the password in its environment twin, the wrapper with
   * everything (the password too) as connection properties.
   */
  static AdviceLoop terminating(EntryKind kind, String admin, String adminPassword, Map<String, String> overrides)
      throws Exception {
    return new AdviceLoop(kind.start(terminatingSettings(admin, overrides), passwordEnvironment(adminPassword)));
  }

  private static Map<String, String> terminatingSettings(String admin, Map<String, String> overrides) {
    Map<String, String> settings = new LinkedHashMap<>();
    settings.put("pgreclaim.mode", "terminate");
    settings.put("pgreclaim.admin.user", admin);
    settings.put("pgreclaim.min-idle", "200ms");
    settings.putAll(overrides);
    return settings;
  }

  private static Map<String, String> passwordEnvironment(String adminPassword) {
    return adminPassword == null ? Map.of() : Map.of("PGRECLAIM_ADMIN_PASSWORD", adminPassword);
  }

  Connection open(String url, String user, String password) throws SQLException {
    Properties info = new Properties();
    info.setProperty("user", user);
    info.setProperty("password", password);
    return open(url, info);
  }

  /** One application open through the entry. */
  Connection open(String url, Properties info) throws SQLException {
    Connection connection = entry.connect(url, info);
    if (connection == null) {
      throw new IllegalArgumentException("pgjdbc does not accept " + url);
    }
    return connection;
  }

  @Override
  public void close() {
    entry.close();
  }
}
