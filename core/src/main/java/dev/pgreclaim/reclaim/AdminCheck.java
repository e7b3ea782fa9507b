package dev.pgreclaim.reclaim;

import java.sql.Connection;
import java.sql.Driver;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;

/** Checks that an admin role can do the agent's work: log in, read session state, signal backends. */
public final class AdminCheck {
    private static final String PRIVILEGES = "select current_user, r.rolsuper,"
            + " pg_catalog.pg_has_role(current_user, 'pg_signal_backend', 'member') as can_signal,"
            + " pg_catalog.pg_has_role(current_user, 'pg_read_all_stats', 'member') as can_read_stats,"
            + " pg_catalog.current_setting('server_version') as version"
            + " from pg_catalog.pg_roles r where r.rolname OPERATOR(pg_catalog.=) current_user";

    private AdminCheck() {
    }

    /** Logs in through the given driver and returns a one-line report; throws SQLException with a clear message. */
    public static String run(Object driver, String url, String user, String password) throws SQLException {
        Properties properties = AdminLoginProperties.of(null, user, password);
        properties.setProperty("loginTimeout", "5");
        ReentryGuard.enter();
        Connection connection;
        try {
            connection = ((Driver) driver).connect(url, properties);
        } finally {
            ReentryGuard.exit();
        }
        if (connection == null) {
            throw new SQLException("the driver does not accept " + url);
        }
        try {
            return report(connection);
        } finally {
            connection.close();
        }
    }

    /** The privilege report for an open admin connection. */
    public static String report(Connection connection) throws SQLException {
        Statement statement = connection.createStatement();
        try {
            ResultSet rows = statement.executeQuery(PRIVILEGES);
            rows.next();
            String role = rows.getString("current_user");
            boolean superuser = rows.getBoolean("rolsuper");
            boolean canSignal = superuser || rows.getBoolean("can_signal");
            boolean canRead = superuser || rows.getBoolean("can_read_stats");
            StringBuilder report = new StringBuilder();
            report.append("admin role ").append(role).append(" on PostgreSQL ").append(rows.getString("version"))
                    .append(superuser ? " (superuser)" : "");
            if (canSignal && canRead) {
                report.append(": ok (can read session state and terminate sessions)");
            } else {
                report.append(": MISSING");
                if (!canRead) {
                    report.append(" pg_read_all_stats (without it session state is NULL and no victim is ever"
                            + " found: GRANT pg_read_all_stats TO ").append(role).append(')');
                }
                if (!canSignal) {
                    report.append(" pg_signal_backend (GRANT pg_signal_backend TO ").append(role).append(')');
                }
            }
            rows.close();
            return report.toString();
        } finally {
            statement.close();
        }
    }

    /** A failure in words an operator can act on, without secrets. */
    public static String explain(Exception failure) {
        if (failure instanceof SQLException) {
            String state = ((SQLException) failure).getSQLState();
            if (SqlStates.INVALID_PASSWORD.equals(state) || SqlStates.INVALID_AUTHORIZATION.equals(state)) {
                return "admin login refused (SQLState " + state + "): check pgreclaim.admin.user and its password: "
                        + failure.getMessage();
            }
            return failure.getMessage() + (state == null ? "" : " (SQLState " + state + ")");
        }
        return failure.toString();
    }
}
