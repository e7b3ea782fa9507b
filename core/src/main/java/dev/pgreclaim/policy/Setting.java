package dev.pgreclaim.policy;

/**
 * Every property the agent reads, declared once: key, default, one-line description. The README's property table is
 * checked against this declaration by a test, and the CLI derives its victim-rule options from it.
 *
 * <p>Keys are dotted lower-case under {@code pgreclaim.}; each has an environment twin made by upper-casing and turning
 * {@code .} and {@code -} into {@code _} ({@code pgreclaim.min-idle} &rarr; {@code PGRECLAIM_MIN_IDLE}). A system
 * property wins over its environment twin; agent arguments (attach) win over both.
 */
public enum Setting {
    MODE("pgreclaim.mode", "observe",
            "`off` (agent inert), `observe` (log each refusal, its kind and the would-be victim; kill nothing) or"
                    + " `terminate` (reclaim and retry)"),
    ACT_ON("pgreclaim.act-on", "role",
            "Comma list of limit kinds acted on in `terminate` mode: `role`, `database`, `reserved`, `server`;"
                    + " other kinds are only observed"),
    ADMIN_URL("pgreclaim.admin.url", "",
            "JDBC URL of the admin connection, without credentials (no `user:password@`, `password=` or"
                    + " `sslpassword=`); empty: same host and port as the refused open, database `postgres`"),
    ADMIN_USER("pgreclaim.admin.user", "",
            "Admin role (required for `terminate`; without it `observe` logs refusals but names no victim)"),
    ADMIN_PASSWORD_FILE("pgreclaim.admin.password-file", "",
            "File holding the admin password (one trailing newline is ignored). Env `PGRECLAIM_ADMIN_PASSWORD` also"
                    + " works; with neither, pgjdbc's `.pgpass` lookup applies"),
    ADMIN_PASSWORD("pgreclaim.admin.password", "",
            "Admin password as a property: accepted with a warning, since a `-D` value is visible to `ps`", true),
    ADMIN_KEEP_ALIVE("pgreclaim.admin.keep-alive", "30s",
            "How long the admin session stays open after its last use, so a burst of refusals reuses it; `0ms`"
                    + " closes it after every reclaim"),
    MIN_IDLE("pgreclaim.min-idle", "10s",
            "Minimum time a session must have been `idle` to be a victim (`250ms`, `10s`, `2m`, `1h`)"),
    MAX_ATTEMPTS("pgreclaim.max-attempts", "3",
            "Reclaim-and-retry rounds (terminations) one refused open may use, 1 to 100"),
    DEADLINE("pgreclaim.deadline", "2s",
            "Total extra time one refused open may spend in reclaim; the caller's `loginTimeout` is respected too"),
    BUDGET("pgreclaim.budget", "10/1m",
            "At most N terminations per time window in this JVM (`N/duration`, N up to 100000, the window from"
                    + " `pgreclaim.deadline` to `24h`); past it the original 53300 is returned at once"),
    PROTECT_APPLICATIONS("pgreclaim.protect.application-names", "",
            "Comma list of `application_name` patterns (`*` and `?` wildcards) whose sessions are never terminated,"
                    + " matched as `pg_stat_activity` shows the name (printable ASCII, at most 63 bytes)"),
    PROTECT_USERS("pgreclaim.protect.users", "",
            "Comma list of role-name patterns whose sessions are never terminated (the agent never acts for them)"),
    PROTECT_DATABASES("pgreclaim.protect.databases", "",
            "Comma list of database-name patterns whose sessions are never terminated"),
    PROTECT_LISTENERS("pgreclaim.protect.listeners", "true",
            "`true`: a session whose last statement was `LISTEN` is never terminated (it waits for notifications);"
                    + " `false` allows it"),
    SELF_CHECK("pgreclaim.self-check", "false",
            "`true`: at start-up, on a background thread, log in as the admin role and check its privileges"),
    REHEARSE("pgreclaim.rehearse", "true",
            "`true`: in `terminate` mode, once per JVM, on a background thread after the first open (not before 2 s"
                    + " from start), run a reclaim's statements in select-only form on an admin login closed at once,"
                    + " so the first real reclaim runs warm code; `false`: it does not"),
    JMX("pgreclaim.jmx", "true",
            "`true`: register the MBean, `dev.pgreclaim:type=Agent` (agent) or `dev.pgreclaim:type=Jdbc` (wrapper):"
                    + " counters, last termination, policy");

    private final String key;
    private final String defaultValue;
    private final String description;
    private final boolean secret;

    Setting(String key, String defaultValue, String description) {
        this(key, defaultValue, description, false);
    }

    Setting(String key, String defaultValue, String description, boolean secret) {
        this.key = key;
        this.defaultValue = defaultValue;
        this.description = description;
        this.secret = secret;
    }

    /** The system property name, e.g. {@code pgreclaim.min-idle}. */
    public String key() {
        return key;
    }

    /** The environment twin, e.g. {@code PGRECLAIM_MIN_IDLE}. */
    public String envKey() {
        return envKeyOf(key);
    }

    /** The key without the {@code pgreclaim.} prefix, as accepted in agent arguments and CLI options. */
    public String shortKey() {
        return key.substring(PREFIX.length());
    }

    public String defaultValue() {
        return defaultValue;
    }

    public String description() {
        return description;
    }

    public boolean isSecret() {
        return secret;
    }

    public static final String PREFIX = "pgreclaim.";

    /** Environment variable holding the admin password (the twin of {@link #ADMIN_PASSWORD}). */
    public static final String ADMIN_PASSWORD_ENV = envKeyOf(ADMIN_PASSWORD.key);

    static String envKeyOf(String key) {
        StringBuilder env = new StringBuilder(key.length());
        for (int i = 0; i < key.length(); i++) {
            char c = key.charAt(i);
            env.append(c == '.' || c == '-' ? '_' : Character.toUpperCase(c));
        }
        return env.toString();
    }

    /** The setting with this key, with or without the prefix; null if none. */
    public static Setting byKey(String key) {
        String full = key.startsWith(PREFIX) ? key : PREFIX + key;
        for (Setting setting : values()) {
            if (setting.key.equals(full)) {
                return setting;
            }
        }
        return null;
    }
}
