package dev.pgreclaim.jdbc;

import dev.pgreclaim.testkit.TestDatabase.Seed;
import java.util.Properties;

/** The wrapper configured for a seed: terminate mode, its admin role, a short min-idle. */
final class WrapperSetup {
  private WrapperSetup() {}

  /** {@code jdbc:pgreclaim:} in front of the seed's pgjdbc URL. */
  static String wrapperUrl(String pgjdbcUrl) {
    return "jdbc:pgreclaim:" + pgjdbcUrl.substring("jdbc:".length());
  }

  /** The policy as URL parameters (no secret: the admin password travels as a connection property). */
  static String terminatingUrl(Seed seed) {
    return wrapperUrl(seed.url()) + (seed.url().contains("?") ? "&" : "?") + "pgreclaim.mode=terminate"
        + "&pgreclaim.admin.user=" + seed.admin() + "&pgreclaim.min-idle=200ms";
  }

  /** The application role's login plus the admin password as a {@code pgreclaim.} connection property. */
  static Properties login(Seed seed) {
    Properties info = new Properties();
    info.setProperty("user", seed.role());
    info.setProperty("password", seed.rolePassword());
    info.setProperty("pgreclaim.admin.password", seed.adminPassword());
    return info;
  }
}
