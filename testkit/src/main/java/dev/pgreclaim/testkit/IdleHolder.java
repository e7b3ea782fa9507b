package dev.pgreclaim.testkit;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Another OS process (a JVM running {@link IdleHolderMain}) that opens one connection and holds it in a chosen state
 * until closed: "another process sits idle on the role's only slot".
 */
public final class IdleHolder implements AutoCloseable {

  /** What the held session does after login. */
  public enum HoldState {
    /** autocommit, nothing running: pg_stat_activity state 'idle'. */
    IDLE,
    /** an open transaction (a {@code select 1} ran): 'idle in transaction'. */
    IDLE_IN_TRANSACTION,
    /** session-level {@code pg_advisory_lock(42)} taken, then idle. */
    ADVISORY_LOCK,
    /**
     * runs {@code select pg_sleep(3600)}; READY is printed just before the query is sent, so poll
     * pg_stat_activity briefly for state 'active'.
     */
    ACTIVE
  }

  static final String PASSWORD_ENV = "PGRECLAIM_HOLDER_PASSWORD";
  private static final Duration READY_TIMEOUT = Duration.ofSeconds(20);

  private final ForkedJvm.Handle handle;
  private final int backendPid;

  private IdleHolder(ForkedJvm.Handle handle, int backendPid) {
    this.handle = handle;
    this.backendPid = backendPid;
  }

  /** Starts the holder and waits (up to 20 s) for {@code READY <pid>}; the password travels in the environment. */
  public static IdleHolder start(String url, String user, String password, HoldState state, String applicationName) {
    ForkedJvm.Handle h = ForkedJvm.builder()
        .mainClass(IdleHolderMain.class.getName())
        .jvmArg("-Xss512k")
        .jvmArg("-XX:TieredStopAtLevel=1")
        .jvmArg("-Xshare:auto")
        .env(PASSWORD_ENV, password)
        .args(url, user, state.name(), applicationName == null ? "" : applicationName)
        .start();
    long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
    try {
      while (System.nanoTime() < deadline) {
        for (String line : h.stdout().split("\n")) {
          if (line.startsWith("READY ")) {
            return new IdleHolder(h, Integer.parseInt(line.substring(6).trim()));
          }
        }
        if (!h.isAlive()) {
          h.process().waitFor(2, TimeUnit.SECONDS);
          throw new IllegalStateException("IdleHolder (" + state + " as " + user + " on " + url + ") exited with "
              + h.process().exitValue() + " before READY\n--- stdout ---\n" + h.stdout() + "\n--- stderr ---\n"
              + h.stderr());
        }
        Thread.sleep(10);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      h.destroy();
      throw new IllegalStateException("interrupted while starting IdleHolder", e);
    } catch (RuntimeException e) {
      h.destroy();
      throw e;
    }
    h.destroy();
    throw new IllegalStateException("IdleHolder (" + state + " as " + user + " on " + url + ") not READY within "
        + READY_TIMEOUT.toSeconds() + " s\n--- stdout ---\n" + h.stdout() + "\n--- stderr ---\n" + h.stderr());
  }

  /** The server backend pid of the held session. */
  public int backendPid() {
    return backendPid;
  }

  /**
   * Waits until each holder's session has been in its state for at least {@code millis} by the server's clock (what
   * a {@code min-idle} rule reads), at most {@code millis} + 10 s; throws when one never gets there.
   */
  public static void awaitSettled(PostgresServer server, long millis, IdleHolder... holders) throws Exception {
    long until = System.nanoTime() + (millis + 10_000) * 1_000_000;
    for (IdleHolder holder : holders) {
      while (true) {
        try (java.sql.Connection superuser = server.connectAsSuperuser("postgres");
            java.sql.PreparedStatement statement = superuser.prepareStatement("select clock_timestamp()"
                + " - state_change >= cast(? as float8) * interval '1 millisecond'"
                + " from pg_stat_activity where pid = ?")) {
          statement.setLong(1, millis);
          statement.setInt(2, holder.backendPid);
          try (java.sql.ResultSet rows = statement.executeQuery()) {
            if (rows.next() && rows.getBoolean(1)) {
              break;
            }
          }
        }
        if (System.nanoTime() > until) {
          throw new IllegalStateException(holder + " not settled for " + millis + " ms");
        }
        Thread.sleep(Math.min(50, Math.max(5, millis / 10)));
      }
    }
  }

  /** The holder's OS pid. */
  public long processPid() {
    return handle.pid();
  }

  public boolean processAlive() {
    return handle.isAlive();
  }

  /** Everything the holder printed so far (stdout, then stderr when non-empty). */
  public String output() {
    String err = handle.stderr();
    return err.isEmpty() ? handle.stdout() : handle.stdout() + "\n--- stderr ---\n" + err;
  }

  /** Sends STOP, waits up to 5 s, then kills the process. Idempotent. */
  @Override
  public void close() {
    if (handle.isAlive()) {
      try {
        handle.writeLine("STOP");
      } catch (IOException e) {
        // stdin already closed
      }
      handle.closeStdin();
      try {
        if (!handle.process().waitFor(5, TimeUnit.SECONDS)) {
          handle.process().destroyForcibly();
          handle.process().waitFor(5, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        handle.process().destroyForcibly();
      }
    }
  }

  @Override
  public String toString() {
    return "IdleHolder[backend " + backendPid + ", process " + handle.pid() + "]";
  }
}
