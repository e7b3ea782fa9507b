package dev.pgreclaim.reclaim;

import java.util.Locale;
import java.util.Properties;

/**
 * The connection properties of every admin login, agent and CLI alike: one place, so the pinned search path and the
 * admin application name cannot drift apart between them.
 *
 * <p>The admin role logs in to databases the application role usually owns, and a database owner can plant
 * functions, operators and views in its schemas and set the database's {@code search_path} (CVE-2018-1058 class).
 * The search path is therefore pinned at login, as a startup option: client startup settings take precedence over
 * {@code ALTER DATABASE/ROLE ... SET}. The admin SQL is schema-qualified as well, so neither measure alone carries
 * the guarantee.
 */
public final class AdminLoginProperties {
    /** {@code pg_catalog} first, the session's own temporary schema last (it is searched for relations only). */
    public static final String SEARCH_PATH = "pg_catalog,pg_temp";
    /** The startup option that pins it; pgjdbc sends it as the {@code options} startup parameter. */
    public static final String OPTIONS = "-c search_path=" + SEARCH_PATH;

    private AdminLoginProperties() {
    }

    /**
     * {@code base} (may be null; the caller's TLS and socket settings, say) without anything that would change the
     * search path, plus the admin's user, password (when not null), application name and pinned search path.
     */
    public static Properties of(Properties base, String user, String password) {
        Properties properties = new Properties();
        if (base != null) {
            for (String name : base.stringPropertyNames()) {
                String key = name.toLowerCase(Locale.ROOT);
                // currentSchema becomes a search_path startup parameter, which PostgreSQL applies after options
                if (!key.equals("options") && !key.equals("currentschema") && !key.equals("password")) {
                    properties.setProperty(name, base.getProperty(name));
                }
            }
        }
        properties.setProperty("user", user);
        if (password != null) {
            properties.setProperty("password", password);
        }
        properties.setProperty("ApplicationName", VictimQuery.ADMIN_APPLICATION_NAME);
        properties.setProperty("options", OPTIONS);
        // an agent in the same JVM whose classes are another copy (another class loader) leaves this login alone
        OpenHandler.markOwned(properties);
        return properties;
    }
}
