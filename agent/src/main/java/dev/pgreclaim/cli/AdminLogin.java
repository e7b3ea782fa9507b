package dev.pgreclaim.cli;

import dev.pgreclaim.policy.AdminUrlCheck;
import dev.pgreclaim.policy.InvalidPolicyException;
import dev.pgreclaim.policy.Policy;
import dev.pgreclaim.policy.PolicyParser;
import dev.pgreclaim.policy.SafeText;
import dev.pgreclaim.policy.Setting;
import dev.pgreclaim.reclaim.AdminLoginProperties;
import dev.pgreclaim.reclaim.SqlStates;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

/**
 * The options every database command shares ({@code --url}, {@code --user}, {@code --password-file} and the victim
 * rules), turned into the agent's own {@link Policy} by the agent's own {@link PolicyParser}: same defaults, same
 * validation, same password-file rule. Then the admin login, with failures an operator can act on.
 */
final class AdminLogin {
    static final String URL = "--url";
    static final String USER = "--user";
    static final String PASSWORD_FILE = "--password-file";

    /** Every victim rule the agent has a property for is an option of the CLI, named after the property. */
    static final List<Setting> VICTIM_RULES = Collections.unmodifiableList(Arrays.asList(Setting.MIN_IDLE,
            Setting.PROTECT_APPLICATIONS, Setting.PROTECT_USERS, Setting.PROTECT_DATABASES));

    private AdminLogin() {
    }

    /** {@code pgreclaim.protect.users} &rarr; {@code --protect-users}. */
    static String optionName(Setting setting) {
        return "--" + setting.shortKey().replace('.', '-');
    }

    static Set<String> connectionOptions() {
        return new LinkedHashSet<String>(Arrays.asList(URL, USER, PASSWORD_FILE));
    }

    static Set<String> victimRuleOptions() {
        Set<String> names = new LinkedHashSet<String>();
        for (Setting setting : VICTIM_RULES) {
            names.add(optionName(setting));
        }
        return names;
    }

    static String connectionHelp() {
        return "  --url URL              jdbc:postgresql://host:port/database of the server (no password in it)\n"
                + "  --user USER            the admin role to log in as\n"
                + "  --password-file F      file holding the password (one trailing newline is ignored)\n"
                + "                         password order: --password-file, env " + Setting.ADMIN_PASSWORD_ENV
                + ",\n                         else pgjdbc's ~/.pgpass lookup (PGPASSFILE)\n";
    }

    static String victimRuleHelp() {
        StringBuilder help = new StringBuilder();
        for (Setting setting : VICTIM_RULES) {
            String option = optionName(setting) + (setting == Setting.MIN_IDLE ? " D" : " LIST");
            help.append("  ").append(pad(option, 23)).append(setting.description().replace("`", ""))
                    .append(" (agent property ").append(setting.key()).append(", default: ")
                    .append(setting.defaultValue().isEmpty() ? "none" : setting.defaultValue()).append(")\n");
        }
        return help.toString();
    }

    private static String pad(String text, int width) {
        StringBuilder padded = new StringBuilder(text);
        while (padded.length() < width) {
            padded.append(' ');
        }
        return padded.append(' ').toString();
    }

    /**
     * The policy the agent would run with for these options: victim rules and admin password. Parsed from
     * properties built from the options only (not this process's {@code -D} or environment twins, so an
     * operator's shell cannot change what the CLI kills), plus {@code PGRECLAIM_ADMIN_PASSWORD}.
     */
    static Policy policy(Args args, Map<String, String> environment) throws CliException {
        Properties properties = new Properties();
        for (Setting setting : VICTIM_RULES) {
            String value = args.get(optionName(setting));
            if (value != null) {
                properties.setProperty(setting.key(), value);
            }
        }
        String passwordFile = args.get(PASSWORD_FILE);
        if (passwordFile != null) {
            if (passwordFile.trim().isEmpty()) {
                throw CliException.usage(PASSWORD_FILE + " needs a file name");
            }
            properties.setProperty(Setting.ADMIN_PASSWORD_FILE.key(), passwordFile);
        }
        Map<String, String> env = new HashMap<String, String>();
        String password = environment.get(Setting.ADMIN_PASSWORD_ENV);
        if (password != null) {
            env.put(Setting.ADMIN_PASSWORD_ENV, password);
        }
        try {
            return PolicyParser.parse(null, properties, env);
        } catch (InvalidPolicyException invalid) {
            StringBuilder message = new StringBuilder();
            for (String problem : invalid.problems()) {
                String text = problem.replace(Setting.ADMIN_PASSWORD_FILE.key(), PASSWORD_FILE);
                for (Setting setting : VICTIM_RULES) {
                    text = text.replace(setting.key(), optionName(setting));
                }
                message.append(message.length() == 0 ? "" : "; ").append(text);
            }
            throw CliException.usage(message.toString());
        }
    }

    /**
     * {@code --url}, checked by the agent's own {@link AdminUrlCheck}. The error names the option, never the value:
     * a URL given by mistake with a password in it must not be printed back to the terminal (and its scrollback).
     */
    static String checkedUrl(Args args, String command) throws CliException {
        String url = args.require(command, URL);
        AdminUrlCheck.Problem problem = AdminUrlCheck.check(url);
        if (problem == null) {
            return url;
        }
        String hint = "";
        if (problem.carriesSecret()) {
            hint = "; give the password with " + PASSWORD_FILE + ", env " + Setting.ADMIN_PASSWORD_ENV
                    + " or ~/.pgpass (a URL is visible to ps and in shell history)";
        } else if (problem == AdminUrlCheck.Problem.USER_PARAMETER) {
            hint = "; give the role with " + USER;
        } else if (problem != AdminUrlCheck.Problem.NOT_POSTGRESQL) {
            hint = " (expected jdbc:postgresql://host:port/database)";
        }
        throw CliException.usage("bad URL in " + URL + " (not shown here): " + problem.reason() + hint);
    }

    /** Logs in as the admin role, autocommit on, under the admin application name (never a victim itself). */
    static Connection open(NestedDriver driver, String url, String user, String password) throws CliException {
        Properties properties = AdminLoginProperties.of(null, user, password);
        properties.setProperty("connectTimeout", "10");
        properties.setProperty("loginTimeout", "20");
        Connection connection;
        try {
            connection = driver.driver().connect(url, properties);
        } catch (SQLException failure) {
            throw explain(failure, url, user, password != null);
        } catch (RuntimeException failure) {
            throw new CliException(ExitCode.ERROR, "cannot connect to " + SafeText.scrubUrls(url) + ": "
                    + SafeText.scrubUrls(String.valueOf(failure)), failure);
        }
        if (connection == null) {
            throw CliException.usage("bad URL '" + SafeText.scrubUrls(url) + "': pgjdbc " + driver.version()
                    + " cannot parse it (expected jdbc:postgresql://host:port/database)");
        }
        try {
            connection.setAutoCommit(true);
        } catch (SQLException failure) {
            closeQuietly(connection);
            throw explain(failure, url, user, true);
        }
        return connection;
    }

    /**
     * An operator's reading of a failed admin login. Neither the URL nor the driver's message is printed verbatim:
     * pgjdbc repeats URLs in its messages ("Unable to parse URL ..."), so both go through
     * {@link SafeText#scrubUrls}.
     */
    static CliException explain(SQLException failure, String url, String user, boolean hadPassword) {
        String state = failure.getSQLState() == null ? "" : failure.getSQLState();
        String message = SafeText.scrubUrls(failure.getMessage());
        String shownUrl = SafeText.scrubUrls(url);
        if (SqlStates.INVALID_PASSWORD.equals(state) || SqlStates.INVALID_AUTHORIZATION.equals(state)) {
            return new CliException(ExitCode.ERROR, "login refused for role " + user + " (SQLState " + state + "): "
                    + message + (hadPassword ? "" : "; no password was given: set " + Setting.ADMIN_PASSWORD_ENV
                    + ", use " + PASSWORD_FILE + " or add a ~/.pgpass line"), failure);
        }
        if (message != null && message.startsWith("Unable to parse URL")) {
            return new CliException(ExitCode.ERROR, "bad URL '" + shownUrl + "': pgjdbc cannot parse it (expected"
                    + " jdbc:postgresql://host:port/database)", failure);
        }
        if (state.startsWith("08")) {
            return new CliException(ExitCode.ERROR, "cannot reach the server of " + shownUrl + " (SQLState " + state
                    + "): " + message, failure);
        }
        if (state.equals("3D000")) {
            return new CliException(ExitCode.ERROR, "the database in " + shownUrl + " does not exist: " + message,
                    failure);
        }
        if (state.equals(SqlStates.TOO_MANY_CONNECTIONS)) {
            return new CliException(ExitCode.ERROR, "the admin login itself was refused (SQLState 53300): "
                    + message + "; log in as a role with free slots (a superuser can use reserved slots)", failure);
        }
        return new CliException(ExitCode.ERROR, "cannot log in to " + shownUrl + " as " + user + ": " + message
                + (state.isEmpty() ? "" : " (SQLState " + state + ")"), failure);
    }

    static void closeQuietly(Connection connection) {
        try {
            connection.close();
        } catch (SQLException ignored) {
            // leaving anyway
        }
    }
}
