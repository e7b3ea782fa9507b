package dev.pgreclaim.reclaim;

import dev.pgreclaim.agent.WovenDriver;
import dev.pgreclaim.metrics.ReclaimMetrics;
import dev.pgreclaim.policy.InvalidPolicyException;
import dev.pgreclaim.policy.Policy;
import dev.pgreclaim.policy.PolicyParser;
import java.sql.Connection;
import java.sql.Driver;
import java.sql.SQLException;
import java.util.Map;
import java.util.Properties;

/**
 * The agent as an application meets it, in this JVM: opens go through a pgjdbc {@code Driver} woven by the real
 * weaver, whose woven {@code connect} calls the real bridge and interceptor ({@link WovenDriver}). The retry loop and
 * the exception the caller gets are the woven method's own; this class only builds the policy and opens.
 * (It once held a copy of the retry loop on an unwoven driver; the name stayed so other tests keep compiling.)
 */
final class AdviceLoop implements AutoCloseable {
  final Policy policy;
  final ReclaimMetrics metrics = new ReclaimMetrics();
  final WovenDriver woven;
  final Reclaimer reclaimer;
  /** The woven driver: also the one the agent opens its admin session through, as in an application. */
  final Driver driver;

  AdviceLoop(Policy policy) {
    this.policy = policy;
    try {
      this.woven = WovenDriver.install(policy, metrics);
    } catch (Exception cannotWeave) {
      throw new IllegalStateException("cannot weave pgjdbc for the test", cannotWeave);
    }
    this.reclaimer = woven.reclaimer();
    this.driver = woven.driver();
  }

  /** A policy from properties only ({@code pgreclaim.} keys), as {@code -D} would give them. */
  static AdviceLoop of(Map<String, String> properties) throws InvalidPolicyException {
    Properties system = new Properties();
    system.putAll(properties);
    return new AdviceLoop(PolicyParser.parse(null, system, Map.of()));
  }

  /** terminate mode for the seed's admin role, as {@code AgentRun.terminating} sets it, plus overrides. */
  static AdviceLoop terminating(String admin, String adminPassword, Map<String, String> overrides)
      throws InvalidPolicyException {
    Properties system = new Properties();
    system.setProperty("pgreclaim.mode", "terminate");
    system.setProperty("pgreclaim.admin.user", admin);
    system.setProperty("pgreclaim.min-idle", "200ms");
    system.putAll(overrides);
    Map<String, String> env = adminPassword == null ? Map.of() : Map.of("PGRECLAIM_ADMIN_PASSWORD", adminPassword);
    return new AdviceLoop(PolicyParser.parse(null, system, env));
  }

  Connection open(String url, String user, String password) throws SQLException {
    Properties info = new Properties();
    info.setProperty("user", user);
    info.setProperty("password", password);
    return open(url, info);
  }

  /** One application open through the woven driver. */
  Connection open(String url, Properties info) throws SQLException {
    Connection connection = driver.connect(url, info);
    if (connection == null) {
      throw new IllegalArgumentException("pgjdbc does not accept " + url);
    }
    return connection;
  }

  @Override
  public void close() {
    woven.close();
  }
}
