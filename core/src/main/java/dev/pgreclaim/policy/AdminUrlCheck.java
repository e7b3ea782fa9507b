package dev.pgreclaim.policy;

import java.util.Locale;

/**
 * The one check of an admin JDBC URL, for the agent's {@code pgreclaim.admin.url} and the CLI's {@code --url}. A URL
 * that carries a secret is refused, whatever form the secret takes, because the URL itself is shown: in the
 * effective-policy line, the MBean, {@code ps} (a {@code -D} value or a command-line option), and in driver messages
 * that repeat it. The answer is a {@link Problem}, never a text containing the URL: callers name their property or
 * option, never the value.
 *
 * <p>Forms covered, after percent-decoding (repeated, so {@code pass%2577ord} counts too) and in any casing:
 * {@code user:password@} or {@code user@} in front of any host of a multi-host list (pgjdbc 42.7 reads such a host as
 * a host name and repeats it in its errors; newer pgjdbc reads it as credentials), and a key naming a password
 * ({@code password}, {@code sslpassword}, ...) in any parameter after {@code ?}, {@code &} or {@code ;}, including
 * parameters written without a {@code ?} at all.
 */
public final class AdminUrlCheck {
    /** The only prefix pgjdbc accepts (it compares case-sensitively). */
    public static final String PREFIX = "jdbc:postgresql:";

    /** What is wrong; {@link #reason()} never repeats the URL. */
    public enum Problem {
        NOT_POSTGRESQL("expected a URL starting with jdbc:postgresql:"),
        CONTROL_CHARACTER("it contains a control character"),
        USER_INFO("it carries user information (user@ or user:password@ in front of a host)"),
        PASSWORD("it carries a password parameter (password=, sslpassword=)"),
        USER_PARAMETER("it carries a user= parameter"),
        BAD_PORT("a port is not a number from 1 to 65535");

        private final String reason;

        Problem(String reason) {
            this.reason = reason;
        }

        public String reason() {
            return reason;
        }

        /** True for the problems that mean a secret was put where it will be shown. */
        public boolean carriesSecret() {
            return this == USER_INFO || this == PASSWORD;
        }
    }

    private AdminUrlCheck() {
    }

    /** The first problem of {@code url}, or null when it may be used and shown. */
    public static Problem check(String url) {
        for (int i = 0; i < url.length(); i++) {
            if (Character.isISOControl(url.charAt(i))) {
                return Problem.CONTROL_CHARACTER;
            }
        }
        // Secrets first: a URL with a wrong prefix that also carries a password is reported as carrying one.
        int queryStart = firstOf(url, "?&;#", 0);
        String beforeQuery = queryStart < 0 ? url : url.substring(0, queryStart);
        if (beforeQuery.indexOf('@') >= 0 || decoded(beforeQuery).indexOf('@') >= 0) {
            return Problem.USER_INFO;
        }
        Problem parameterProblem = queryStart < 0 ? null : checkParameters(url.substring(queryStart + 1));
        if (parameterProblem == Problem.PASSWORD) {
            return parameterProblem;
        }
        if (!url.startsWith(PREFIX) || url.length() == PREFIX.length()) {
            return Problem.NOT_POSTGRESQL;
        }
        if (parameterProblem != null) {
            return parameterProblem;
        }
        return checkPorts(beforeQuery);
    }

    /** Every parameter, split at {@code &} and {@code ;} (and a stray {@code ?}), by its decoded key. */
    private static Problem checkParameters(String parameters) {
        Problem found = null;
        int start = 0;
        while (start <= parameters.length()) {
            int end = firstOf(parameters, "?&;", start);
            if (end < 0) {
                end = parameters.length();
            }
            // The whole token decoded: an encoded '=' (password%3Ds3cret) must not hide the key.
            String token = decoded(parameters.substring(start, end));
            int eq = token.indexOf('=');
            String key = withoutWhitespace(eq < 0 ? token : token.substring(0, eq)).toLowerCase(Locale.ROOT);
            if (key.contains("password")) {
                return Problem.PASSWORD;
            }
            if (key.equals("user") && found == null) {
                found = Problem.USER_PARAMETER;
            }
            start = end + 1;
        }
        return found;
    }

    /** {@code host[:port]} entries of {@code //host:port,host:port/...}: each port must be a number. */
    private static Problem checkPorts(String beforeQuery) {
        String rest = beforeQuery.substring(PREFIX.length());
        if (!rest.startsWith("//")) {
            return null;
        }
        int slash = rest.indexOf('/', 2);
        String hosts = rest.substring(2, slash < 0 ? rest.length() : slash);
        for (String host : hosts.split(",", -1)) {
            int colon = host.lastIndexOf(':');
            if (colon < 0 || colon < host.lastIndexOf(']')) {
                continue;
            }
            String port = host.substring(colon + 1);
            if (port.isEmpty() || port.length() > 5 || !isAsciiDigits(port)) {
                return Problem.BAD_PORT;
            }
            int number = Integer.parseInt(port);
            if (number < 1 || number > 65535) {
                return Problem.BAD_PORT;
            }
        }
        return null;
    }

    static boolean isAsciiDigits(String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c < '0' || c > '9') {
                return false;
            }
        }
        return !text.isEmpty();
    }

    private static int firstOf(String text, String chars, int from) {
        for (int i = from; i < text.length(); i++) {
            if (chars.indexOf(text.charAt(i)) >= 0) {
                return i;
            }
        }
        return -1;
    }

    private static String withoutWhitespace(String text) {
        StringBuilder kept = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            if (!Character.isWhitespace(text.charAt(i))) {
                kept.append(text.charAt(i));
            }
        }
        return kept.toString();
    }

    /**
     * Percent-decoded until nothing changes (at most a few rounds), bytes taken as ISO-8859-1: only ASCII keys and
     * {@code @} matter here, and a malformed escape is left as it is rather than failing the check.
     */
    static String decoded(String text) {
        String current = text;
        for (int round = 0; round < 4 && current.indexOf('%') >= 0; round++) {
            StringBuilder out = new StringBuilder(current.length());
            for (int i = 0; i < current.length(); i++) {
                char c = current.charAt(i);
                if (c == '%' && i + 2 < current.length() && hex(current.charAt(i + 1)) >= 0
                        && hex(current.charAt(i + 2)) >= 0) {
                    out.append((char) (hex(current.charAt(i + 1)) * 16 + hex(current.charAt(i + 2))));
                    i += 2;
                } else {
                    out.append(c);
                }
            }
            String next = out.toString();
            if (next.equals(current)) {
                break;
            }
            current = next;
        }
        return current;
    }

    private static int hex(char c) {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        return -1;
    }
}
