package dev.pgreclaim.policy;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.Charset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

/**
 * Reads the policy from agent arguments, system properties and environment (in that order of precedence) and
 * validates every value once. An invalid value is never replaced by a default: for a component that ends database
 * sessions, a typo must stop the agent, not quietly change what it kills.
 */
public final class PolicyParser {
    static final long MAX_DEADLINE_MILLIS = 10 * 60_000L;
    static final long MAX_MIN_IDLE_MILLIS = 30L * 24 * 3_600_000L;
    static final int MAX_ATTEMPTS_LIMIT = 100;
    static final int MAX_BUDGET = 100_000;
    static final long MAX_BUDGET_WINDOW_MILLIS = 24 * 3_600_000L;
    /** {@code NAMEDATALEN - 1}: the bytes of {@code application_name} that {@code pg_stat_activity} shows. */
    static final int SHOWN_APPLICATION_NAME_BYTES = 63;

    private final Map<String, String> agentArgs;
    private final Properties systemProperties;
    private final Map<String, String> environment;
    private final List<String> problems = new ArrayList<String>();

    private PolicyParser(Map<String, String> agentArgs, Properties systemProperties, Map<String, String> environment) {
        this.agentArgs = agentArgs;
        this.systemProperties = systemProperties;
        this.environment = environment;
    }

    /** Parses the policy of this JVM. */
    public static Policy fromEnvironment(String agentArgs) throws InvalidPolicyException {
        return parse(agentArgs, System.getProperties(), System.getenv());
    }

    public static Policy parse(String agentArgs, Properties systemProperties, Map<String, String> environment)
            throws InvalidPolicyException {
        List<String> argProblems = new ArrayList<String>();
        Map<String, String> args = parseAgentArgs(agentArgs, argProblems);
        PolicyParser parser = new PolicyParser(args, systemProperties, environment);
        parser.problems.addAll(argProblems);
        return parser.parse();
    }

    /**
     * Agent arguments: {@code key=value} pairs separated by newlines or {@code ;}, keys with or without the
     * {@code pgreclaim.} prefix. Unknown keys are errors here, since they were typed for this agent.
     */
    static Map<String, String> parseAgentArgs(String agentArgs, List<String> problems) {
        Map<String, String> args = new LinkedHashMap<String, String>();
        if (agentArgs == null || agentArgs.trim().isEmpty()) {
            return args;
        }
        int position = 0;
        for (String pair : agentArgs.split("[;\n]")) {
            String trimmed = pair.trim();
            if (trimmed.isEmpty()) {
                continue;
            }
            position++;
            int eq = trimmed.indexOf('=');
            if (eq <= 0) {
                // Not repeated: a mistyped pair may be a password or a URL carrying one.
                problems.add("agent argument " + position + " is not key=value (its text is not shown)");
                continue;
            }
            String key = trimmed.substring(0, eq).trim();
            Setting setting = Setting.byKey(key);
            if (setting == null) {
                problems.add("agent argument " + (looksLikeKey(key) ? "'" + key + "'" : position + " (text not shown)")
                        + " is not a pg-reclaim property");
                continue;
            }
            args.put(setting.key(), trimmed.substring(eq + 1).trim());
        }
        return args;
    }

    /** A key is shown back only when it cannot be something else pasted by mistake (a URL, a password). */
    private static boolean looksLikeKey(String key) {
        if (key.length() > 64) {
            return false;
        }
        for (int i = 0; i < key.length(); i++) {
            char c = key.charAt(i);
            if (!(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-'
                    || c == '_')) {
                return false;
            }
        }
        return true;
    }

    private Policy parse() throws InvalidPolicyException {
        Policy.Builder builder = new Policy.Builder();
        warnAboutUnknownProperties(builder.warnings);

        builder.mode = parseMode();
        builder.actOn = parseActOn();
        builder.adminUrl = parseAdminUrl();
        builder.adminUser = emptyToNull(raw(Setting.ADMIN_USER));
        parsePassword(builder);
        builder.adminKeepAliveMillis = duration(Setting.ADMIN_KEEP_ALIVE, 0, 24 * 3_600_000L);
        builder.minIdleMillis = duration(Setting.MIN_IDLE, 0, MAX_MIN_IDLE_MILLIS);
        builder.maxAttempts = integer(Setting.MAX_ATTEMPTS, 1, MAX_ATTEMPTS_LIMIT);
        int problemsBefore = problems.size();
        builder.deadlineMillis = duration(Setting.DEADLINE, 1, MAX_DEADLINE_MILLIS);
        parseBudget(builder, problems.size() == problemsBefore ? builder.deadlineMillis : -1);
        builder.protectApplications = applicationPatterns();
        builder.protectUsers = patterns(Setting.PROTECT_USERS);
        builder.protectDatabases = patterns(Setting.PROTECT_DATABASES);
        builder.protectListeners = bool(Setting.PROTECT_LISTENERS);
        builder.selfCheck = bool(Setting.SELF_CHECK);
        builder.rehearse = bool(Setting.REHEARSE);
        builder.jmx = bool(Setting.JMX);

        if (builder.mode == Mode.TERMINATE && builder.adminUser == null) {
            problems.add(Setting.ADMIN_USER.key() + " is required when " + Setting.MODE.key()
                    + "=terminate (the admin role that ends idle sessions; see README: admin role)");
        }
        if (!problems.isEmpty()) {
            throw new InvalidPolicyException(problems);
        }
        return new Policy(builder);
    }

    private void warnAboutUnknownProperties(List<String> warnings) {
        for (String name : systemProperties.stringPropertyNames()) {
            if (name.startsWith(Setting.PREFIX) && Setting.byKey(name) == null) {
                warnings.add("unknown property " + name + " ignored (see README for the property names)");
            }
        }
    }

    /** The raw value: agent argument, else system property, else environment twin, else the default. */
    String raw(Setting setting) {
        String value = agentArgs.get(setting.key());
        if (value == null) {
            value = systemProperties.getProperty(setting.key());
        }
        if (value == null) {
            value = environment.get(setting.envKey());
        }
        return value == null ? setting.defaultValue() : value.trim();
    }

    private void problem(Setting setting, String value, String expected) {
        problems.add(setting.key() + "='" + value + "' is invalid: " + expected);
    }

    private Mode parseMode() {
        String value = raw(Setting.MODE);
        for (Mode mode : Mode.values()) {
            if (mode.token().equals(value.toLowerCase(Locale.ROOT))) {
                return mode;
            }
        }
        problem(Setting.MODE, value, "expected off, observe or terminate");
        return Mode.OFF;
    }

    private Set<LimitKind> parseActOn() {
        String value = raw(Setting.ACT_ON);
        Set<LimitKind> kinds = EnumSet.noneOf(LimitKind.class);
        for (String token : splitList(value)) {
            LimitKind kind = null;
            for (LimitKind candidate : LimitKind.values()) {
                if (candidate != LimitKind.UNKNOWN && candidate.token().equals(token.toLowerCase(Locale.ROOT))) {
                    kind = candidate;
                }
            }
            if (kind == null) {
                problem(Setting.ACT_ON, value, "'" + token + "' is not one of role, database, reserved, server");
                return EnumSet.of(LimitKind.ROLE);
            }
            kinds.add(kind);
        }
        if (kinds.isEmpty()) {
            problem(Setting.ACT_ON, value, "name at least one of role, database, reserved, server"
                    + " (use pgreclaim.mode=observe to act on none)");
            return EnumSet.of(LimitKind.ROLE);
        }
        return kinds;
    }

    private String parseAdminUrl() {
        String value = raw(Setting.ADMIN_URL);
        if (value.isEmpty()) {
            return null;
        }
        AdminUrlCheck.Problem problem = AdminUrlCheck.check(value);
        if (problem == null) {
            return value;
        }
        // Never the value: whatever is wrong with it, it may carry a secret in a form this check does not know.
        String hint = "";
        if (problem.carriesSecret()) {
            hint = "; give the admin password with " + Setting.ADMIN_PASSWORD_FILE.key() + " or "
                    + Setting.ADMIN_PASSWORD_ENV + " (a URL is shown in logs, the MBean and to ps)";
        } else if (problem == AdminUrlCheck.Problem.USER_PARAMETER) {
            hint = "; set the admin role with " + Setting.ADMIN_USER.key();
        } else if (problem == AdminUrlCheck.Problem.NOT_POSTGRESQL) {
            hint = " (such as jdbc:postgresql://host:5432/postgres)";
        }
        problems.add(Setting.ADMIN_URL.key() + " is invalid (value not shown): " + problem.reason() + hint);
        return null;
    }

    private void parsePassword(Policy.Builder builder) {
        String file = raw(Setting.ADMIN_PASSWORD_FILE);
        String property = agentArgs.containsKey(Setting.ADMIN_PASSWORD.key())
                ? agentArgs.get(Setting.ADMIN_PASSWORD.key())
                : systemProperties.getProperty(Setting.ADMIN_PASSWORD.key());
        String env = environment.get(Setting.ADMIN_PASSWORD_ENV);
        if (!file.isEmpty()) {
            String password = readPasswordFile(file);
            if (password != null) {
                builder.adminPassword = password;
                builder.adminPasswordSource = "from file " + file;
            }
        } else if (property != null) {
            if (property.isEmpty()) {
                problems.add(Setting.ADMIN_PASSWORD.key() + " is empty");
                return;
            }
            builder.adminPassword = property;
            builder.adminPasswordSource = "from property " + Setting.ADMIN_PASSWORD.key();
            builder.warnings.add(Setting.ADMIN_PASSWORD.key() + " is visible to anyone who can run ps on this host;"
                    + " prefer " + Setting.ADMIN_PASSWORD_FILE.key() + " or " + Setting.ADMIN_PASSWORD_ENV);
        } else if (env != null && !env.isEmpty()) {
            builder.adminPassword = env;
            builder.adminPasswordSource = "from environment " + Setting.ADMIN_PASSWORD_ENV;
        }
    }

    /** The file's content without one trailing newline; null (and a problem) if unusable. */
    private String readPasswordFile(String path) {
        File file = new File(path);
        byte[] content;
        try {
            content = readAll(file);
        } catch (IOException unreadable) {
            problems.add(Setting.ADMIN_PASSWORD_FILE.key() + "='" + path + "' cannot be read: "
                    + unreadable.getClass().getSimpleName() + (file.exists() ? "" : " (no such file)"));
            return null;
        }
        String text = new String(content, Charset.forName("UTF-8"));
        if (text.endsWith("\r\n")) {
            text = text.substring(0, text.length() - 2);
        } else if (text.endsWith("\n")) {
            text = text.substring(0, text.length() - 1);
        }
        if (text.isEmpty()) {
            problems.add(Setting.ADMIN_PASSWORD_FILE.key() + "='" + path + "' is empty");
            return null;
        }
        if (text.indexOf('\n') >= 0) {
            problems.add(Setting.ADMIN_PASSWORD_FILE.key() + "='" + path + "' holds more than one line");
            return null;
        }
        return text;
    }

    private static byte[] readAll(File file) throws IOException {
        if (file.isDirectory()) {
            throw new IOException("is a directory");
        }
        InputStream in = new FileInputStream(file);
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buffer = new byte[1024];
            int n;
            while ((n = in.read(buffer)) > 0) {
                out.write(buffer, 0, n);
                if (out.size() > 64 * 1024) {
                    throw new IOException("larger than 64 KiB");
                }
            }
            return out.toByteArray();
        } finally {
            in.close();
        }
    }

    private long duration(Setting setting, long min, long max) {
        String value = raw(setting);
        long millis = Durations.parseMillis(value);
        if (millis < 0) {
            problem(setting, value, "expected a duration such as 250ms, 10s, 2m or 1h");
            return Durations.parseMillis(setting.defaultValue());
        }
        if (millis < min || millis > max) {
            problem(setting, value, "expected between " + Durations.format(min) + " and " + Durations.format(max));
            return Durations.parseMillis(setting.defaultValue());
        }
        return millis;
    }

    private int integer(Setting setting, int min, int max) {
        String value = raw(setting);
        // ASCII digits only: Integer.parseInt also takes '+7' and other scripts' digits, which nobody means here.
        if (!AdminUrlCheck.isAsciiDigits(value) || value.length() > 9) {
            problem(setting, value, "expected a whole number from " + min + " to " + max);
            return min;
        }
        int parsed = Integer.parseInt(value);
        if (parsed < min || parsed > max) {
            problem(setting, value, "expected a whole number from " + min + " to " + max);
            return min;
        }
        return parsed;
    }

    /**
     * {@code N/duration}. The window is bounded (a termination is remembered for at most a day, which keeps the
     * arithmetic in nanoseconds far from overflow) and is at least {@code pgreclaim.deadline}: with a shorter window
     * one refused open could spend the budget more than once while it is still reclaiming.
     *
     * @param deadlineMillis the valid deadline, or -1 when the deadline itself is invalid (reported there)
     */
    private void parseBudget(Policy.Builder builder, long deadlineMillis) {
        String value = raw(Setting.BUDGET);
        builder.budgetTerminations = 1;
        builder.budgetWindowMillis = 60_000;
        int slash = value.indexOf('/');
        String countText = slash > 0 ? value.substring(0, slash).trim() : "";
        long window = slash > 0 ? Durations.parseMillis(value.substring(slash + 1)) : -1;
        if (!AdminUrlCheck.isAsciiDigits(countText) || window < 0) {
            problem(Setting.BUDGET, value, "expected N/duration, e.g. 10/1m (at most 10 terminations a minute)");
            return;
        }
        long count = countText.length() > 9 ? Long.MAX_VALUE : Long.parseLong(countText);
        if (count < 1 || count > MAX_BUDGET) {
            problem(Setting.BUDGET, value, "N must be from 1 to " + MAX_BUDGET);
            return;
        }
        if (window < 1 || window > MAX_BUDGET_WINDOW_MILLIS) {
            problem(Setting.BUDGET, value, "the window must be from 1ms to "
                    + Durations.format(MAX_BUDGET_WINDOW_MILLIS));
            return;
        }
        if (deadlineMillis >= 0 && window < deadlineMillis) {
            problem(Setting.BUDGET, value, "the window (" + Durations.format(window) + ") is shorter than "
                    + Setting.DEADLINE.key() + " (" + Durations.format(deadlineMillis) + "): one refused open could"
                    + " spend the budget more than once");
            return;
        }
        builder.budgetTerminations = (int) count;
        builder.budgetWindowMillis = window;
    }

    private List<String> patterns(Setting setting) {
        String value = raw(setting);
        List<String> patterns = splitList(value);
        for (String pattern : patterns) {
            for (int i = 0; i < pattern.length(); i++) {
                if (Character.isISOControl(pattern.charAt(i))) {
                    problem(setting, value, "patterns must not contain control characters");
                    return Collections.emptyList();
                }
            }
        }
        return patterns;
    }

    /**
     * Protect patterns are matched against {@code pg_stat_activity.application_name} as PostgreSQL shows it, which is
     * not always what the client sent: the server keeps only printable ASCII (each other byte becomes {@code ?} up to
     * PostgreSQL 15, {@code \xNN} from 16: {@code pg_clean_ascii} in {@code check_application_name}) and shows at most
     * {@value #SHOWN_APPLICATION_NAME_BYTES} bytes ({@code NAMEDATALEN - 1}, cut in {@code pgstat_report_appname}).
     * A pattern that can never match that form would protect nothing while looking as if it did: refused.
     */
    private List<String> applicationPatterns() {
        Setting setting = Setting.PROTECT_APPLICATIONS;
        int problemsBefore = problems.size();
        List<String> patterns = patterns(setting);
        if (problems.size() > problemsBefore) {
            return patterns;
        }
        for (String pattern : patterns) {
            int shortestMatch = 0;
            for (int i = 0; i < pattern.length(); i++) {
                char c = pattern.charAt(i);
                if (c > 126) {
                    problem(setting, raw(setting), "'" + pattern + "' can never match: PostgreSQL shows"
                            + " application_name in ASCII only (each other byte as ? up to version 15, as \\xNN from"
                            + " 16); write * or ? where such characters stand");
                    return Collections.emptyList();
                }
                if (c != '*') {
                    shortestMatch++;
                }
            }
            if (shortestMatch > SHOWN_APPLICATION_NAME_BYTES) {
                problem(setting, raw(setting), "'" + pattern + "' can never match: PostgreSQL shows at most the first "
                        + SHOWN_APPLICATION_NAME_BYTES + " bytes of application_name; match those, e.g. the first "
                        + SHOWN_APPLICATION_NAME_BYTES + " characters followed by *");
                return Collections.emptyList();
            }
        }
        return patterns;
    }

    private boolean bool(Setting setting) {
        String value = raw(setting);
        if (value.equalsIgnoreCase("true")) {
            return true;
        }
        if (value.equalsIgnoreCase("false")) {
            return false;
        }
        problem(setting, value, "expected true or false");
        return false;
    }

    static List<String> splitList(String value) {
        List<String> items = new ArrayList<String>();
        for (String item : value.split(",")) {
            String trimmed = item.trim();
            if (!trimmed.isEmpty()) {
                items.add(trimmed);
            }
        }
        return items;
    }

    private static String emptyToNull(String value) {
        return value == null || value.isEmpty() ? null : value;
    }
}
