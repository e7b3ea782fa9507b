package dev.pgreclaim.reclaim;

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
 * Drives {@link Reclaimer} in-process exactly the way the woven {@code DriverAdvice} + {@code ConnectInterceptor} do:
 * open through a real, unwoven pgjdbc {@link Driver}; on the first failure classify it and hand it to
 * {@link Reclaimer#onRefusal}; then call {@link OpenAttempt#onExit} after every run of the open and re-run it while it
 * says so; when it gives up, throw the first exception (the one the application would have got without the agent).
 */
final class AdviceLoop implements AutoCloseable {
  final Policy policy;
  final ReclaimMetrics metrics = new ReclaimMetrics();
  final Reclaimer reclaimer;
  final Driver driver = new org.postgresql.Driver();

  AdviceLoop(Policy policy) {
    this.policy = policy;
    this.reclaimer = new Reclaimer(policy, metrics);
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

  /** One application open, with the agent's retry loop around it. */
  Connection open(String url, Properties info) throws SQLException {
    long start = System.nanoTime();
    OpenAttempt attempt = null;
    Throwable original = null;
    while (true) {
      Connection connection = null;
      Throwable thrown = null;
      try {
        connection = driver.connect(url, info);
      } catch (Throwable failure) {
        thrown = failure;
      }
      if (attempt == null) {
        if (thrown == null) {
          return connection;
        }
        Refusal refusal = Refusal.classify(thrown);
        if (refusal != null) {
          attempt = reclaimer.onRefusal(driver, url, info, refusal, thrown, start);
        }
        if (attempt == null) {
          throw rethrow(thrown);
        }
        original = thrown;
      }
      if (!attempt.onExit(thrown)) {
        if (thrown == null) {
          return connection;
        }
        throw rethrow(original);
      }
    }
  }

  private static SQLException rethrow(Throwable thrown) {
    if (thrown instanceof SQLException) {
      return (SQLException) thrown;
    }
    if (thrown instanceof RuntimeException) {
      throw (RuntimeException) thrown;
    }
    if (thrown instanceof Error) {
      throw (Error) thrown;
    }
    throw new IllegalStateException(thrown);
  }

  @Override
  public void close() {
    reclaimer.close();
  }
}
