package dev.pgreclaim.testkit;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A server somebody else runs (pgreclaim.test.url / PGRECLAIM_TEST_URL, or the demo's --url). Never stopped or
 * restarted here.
 */
public final class ExternalServer implements PostgresServer {
  private static final Pattern URL =
      Pattern.compile("jdbc:postgresql://([^:/?]+|\\[[^]]+])(?::(\\d+))?(?:/([^?]*))?(?:\\?.*)?");

  private final String host;
  private final int port;
  private final String database;
  private final String user;
  private final String password;

  public ExternalServer(String url, String user, String password) {
    Matcher m = URL.matcher(url);
    if (!m.matches()) {
      throw new IllegalArgumentException("expected jdbc:postgresql://host[:port]/database, got " + url);
    }
    this.host = m.group(1);
    this.port = m.group(2) == null ? 5432 : Integer.parseInt(m.group(2));
    this.database = m.group(3) == null || m.group(3).isEmpty() ? "postgres" : m.group(3);
    this.user = user == null || user.isBlank() ? "postgres" : user;
    this.password = password == null ? "" : password;
  }

  /** The database named in the URL (default postgres). */
  public String database() {
    return database;
  }

  @Override
  public String kind() {
    return "external";
  }

  @Override
  public String host() {
    return host;
  }

  @Override
  public int port() {
    return port;
  }

  @Override
  public String superuser() {
    return user;
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
    throw new UnsupportedOperationException("an external server cannot be restarted by the tests");
  }

  @Override
  public void close() {
    // not ours
  }

  @Override
  public String toString() {
    return "external PostgreSQL " + host + ":" + port + " as " + user;
  }
}
