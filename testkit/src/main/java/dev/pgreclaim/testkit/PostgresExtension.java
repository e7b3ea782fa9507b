package dev.pgreclaim.testkit;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * Resolves {@link PostgresServer} parameters to {@link PostgresServers#shared()}. The server is started in
 * beforeEach so that "no server" can abort (skip) each test, reported one by one (JUnit would turn an abort thrown
 * from a parameter resolver into a failure, and surefire reports a class aborted in beforeAll as 0 tests). A start
 * failure is remembered, so it is tried once per JVM. Under CI ({@link PostgresServers#requireServer()}) the test
 * fails instead.
 */
public final class PostgresExtension implements BeforeEachCallback, ParameterResolver {

  @Override
  public void beforeEach(ExtensionContext context) {
    ensureServer();
  }

  static PostgresServer ensureServer() {
    try {
      return PostgresServers.shared();
    } catch (org.opentest4j.TestAbortedException e) {
      throw e;
    } catch (RuntimeException e) {
      if (PostgresServers.requireServer()) {
        throw new IllegalStateException("PostgreSQL is required here (CI=true) but could not be started: "
            + e.getMessage(), e);
      }
      Assumptions.abort("no PostgreSQL server: " + e.getMessage());
      throw e; // unreachable
    }
  }

  @Override
  public boolean supportsParameter(ParameterContext p, ExtensionContext e) {
    return p.getParameter().getType() == PostgresServer.class;
  }

  @Override
  public Object resolveParameter(ParameterContext p, ExtensionContext e) {
    try {
      return PostgresServers.shared();
    } catch (RuntimeException ex) {
      throw new ParameterResolutionException("no PostgreSQL server: " + ex.getMessage(), ex);
    }
  }
}
