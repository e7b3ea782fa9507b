package dev.pgreclaim.demo;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;

/**
 * The "application" of the demo: opens one connection with {@link DriverManager}, as any JDBC program does, and says
 * what happened. It knows nothing about pg-reclaim; the agent, when attached, works underneath {@code getConnection}.
 *
 * <p>{@code App <url> <user> [--hold]}, password in env {@value #PASSWORD_ENV}. Prints
 * {@code app: connected as <user>, backend pid <pid>, in <ms> ms} (exit 0) or
 * {@code app: refused: <message> (SQLState <state>), after <ms> ms} (exit 1). With {@code --hold} the connection stays
 * open until standard input closes (or a line {@code STOP} arrives), so it can be seen in {@code pg_stat_activity}.
 */
public final class App {
    /** Environment variable holding the application role's password (never a command-line argument). */
    public static final String PASSWORD_ENV = "APP_PASSWORD";

    private App() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length < 2) {
            System.err.println("usage: App <jdbc-url> <user> [--hold]   (password in env " + PASSWORD_ENV + ")");
            System.exit(2);
        }
        String url = args[0];
        String user = args[1];
        boolean hold = args.length > 2 && args[2].equals("--hold");
        Properties properties = new Properties();
        properties.setProperty("user", user);
        String password = System.getenv(PASSWORD_ENV);
        if (password != null) {
            properties.setProperty("password", password);
        }
        properties.setProperty("ApplicationName", "demo-app");
        loadDriver();
        long start = System.nanoTime();
        try (Connection connection = DriverManager.getConnection(url, properties)) {
            long millis = (System.nanoTime() - start) / 1_000_000;
            System.out.println("app: connected as " + user + ", backend pid " + backendPid(connection) + ", in "
                    + millis + " ms");
            System.out.flush();
            if (hold) {
                waitForStop();
            }
        } catch (SQLException refused) {
            long millis = (System.nanoTime() - start) / 1_000_000;
            System.out.println("app: refused: " + refused.getMessage() + " (SQLState " + refused.getSQLState()
                    + "), after " + millis + " ms");
            System.exit(1);
        }
    }

    /**
     * Loads pgjdbc before the clock starts, as a long-running application has long done by the time a slot runs
     * out: the timing then shows getConnection alone (the agent weaves the driver while it loads).
     */
    private static void loadDriver() {
        try {
            Class.forName("org.postgresql.Driver");
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException("pgjdbc is not on the class path", e);
        }
    }

    private static int backendPid(Connection connection) throws SQLException {
        try (Statement statement = connection.createStatement();
                ResultSet rows = statement.executeQuery("select pg_catalog.pg_backend_pid()")) {
            rows.next();
            return rows.getInt(1);
        }
    }

    private static void waitForStop() throws IOException {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            if (line.trim().equals("STOP")) {
                return;
            }
        }
    }
}
