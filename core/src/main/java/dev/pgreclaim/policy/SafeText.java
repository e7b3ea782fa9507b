package dev.pgreclaim.policy;

import java.util.Locale;

/**
 * Text that came from elsewhere (a driver's exception message, a URL) made safe to print: every JDBC or
 * {@code postgres(ql)://} URL in it keeps its scheme, hosts, ports and database and loses whatever could be a secret.
 * For pgjdbc's "Unable to parse URL ..." and the like, which repeat the URL they were given verbatim.
 *
 * <p>What goes: user information in front of a host ({@code user:password@}, also percent-encoded), a host entry that
 * is not a plain {@code host[:port]} (the remains of a malformed {@code user:password}), and everything from the first
 * {@code ?}, {@code &}, {@code ;} or {@code #} after the host to the end of that line (parameters, whose values may
 * contain spaces, so the end of the URL cannot be told), replaced by {@code ?...}.
 */
public final class SafeText {
    static final String HIDDEN = "***";
    static final String PARAMETERS_HIDDEN = "?...";

    private SafeText() {
    }

    /** {@code text} with every URL in it scrubbed; null stays null. */
    public static String scrubUrls(String text) {
        if (text == null) {
            return null;
        }
        String lower = text.toLowerCase(Locale.ROOT);
        int start = nextUrl(lower, 0);
        if (start < 0) {
            return text;
        }
        StringBuilder out = new StringBuilder(text.length());
        int copied = 0;
        while (start >= 0) {
            out.append(text, copied, start);
            copied = scrubOne(text, lower, start, out);
            start = nextUrl(lower, copied);
        }
        out.append(text, copied, text.length());
        return out.toString();
    }

    private static int nextUrl(String lower, int from) {
        int best = -1;
        for (String marker : new String[] {"jdbc:", "postgresql://", "postgres://"}) {
            int at = lower.indexOf(marker, from);
            if (at >= 0 && (best < 0 || at < best)) {
                best = at;
            }
        }
        return best;
    }

    /** Appends the scrubbed URL starting at {@code start}; returns where the text after it resumes. */
    private static int scrubOne(String text, String lower, int start, StringBuilder out) {
        int lineEnd = start;
        while (lineEnd < text.length() && text.charAt(lineEnd) != '\n' && text.charAt(lineEnd) != '\r') {
            lineEnd++;
        }
        // scheme: jdbc:sub:sub: (wrappers nest sub-protocols) or postgres(ql):
        int at = lower.startsWith("jdbc:", start) ? start + 5 : lower.indexOf(':', start) + 1;
        int firstWord = -1;
        while (true) {
            int word = at;
            while (word < lineEnd && isSchemeChar(lower.charAt(word))) {
                word++;
            }
            if (word > at && word < lineEnd && text.charAt(word) == ':') {
                at = word + 1;
                firstWord = firstWord < 0 ? at : firstWord;
            } else {
                break;
            }
        }
        if (!text.startsWith("//", at) && firstWord > 0) {
            // jdbc:postgresql:database form: only the first word is the sub-protocol ("jdbc:postgresql:user:pw@...")
            at = firstWord;
        }
        out.append(text, start, at);
        int pathStart = at;
        if (text.startsWith("//", at)) {
            out.append("//");
            int hostsStart = at + 2;
            int hostsEnd = firstOf(text, "/?&;#", hostsStart, lineEnd);
            String hosts = text.substring(hostsStart, hostsEnd);
            int userInfoEnd = Math.max(hosts.lastIndexOf('@'), lastIndexOfEncodedAt(hosts));
            if (userInfoEnd >= 0) {
                out.append(HIDDEN).append('@');
                hosts = hosts.substring(hosts.charAt(userInfoEnd) == '@' ? userInfoEnd + 1 : userInfoEnd + 3);
            }
            int space = firstWhitespace(hosts);
            if (space >= 0) {
                // the URL ended inside the host list: what follows is ordinary text
                appendHosts(hosts.substring(0, space), out);
                return hostsEnd - (hosts.length() - space);
            }
            appendHosts(hosts, out);
            pathStart = hostsEnd;
        }
        int pathEnd = pathStart;
        while (pathEnd < lineEnd && "?&;#".indexOf(text.charAt(pathEnd)) < 0
                && !Character.isWhitespace(text.charAt(pathEnd))) {
            pathEnd++;
        }
        String path = text.substring(pathStart, pathEnd);
        int userInfoEnd = Math.max(path.lastIndexOf('@'), lastIndexOfEncodedAt(path));
        out.append(userInfoEnd >= 0 ? HIDDEN : path);
        if (pathEnd < lineEnd && "?&;#".indexOf(text.charAt(pathEnd)) >= 0) {
            out.append(PARAMETERS_HIDDEN);
            return lineEnd;
        }
        return pathEnd;
    }

    /** Each {@code host[:port]} kept only when it is one: anything else may be the remains of credentials. */
    private static void appendHosts(String hosts, StringBuilder out) {
        String[] entries = hosts.split(",", -1);
        for (int i = 0; i < entries.length; i++) {
            out.append(i == 0 ? "" : ",").append(isPlainHost(entries[i]) ? entries[i] : HIDDEN);
        }
    }

    static boolean isPlainHost(String entry) {
        String host = entry;
        int colon = entry.lastIndexOf(':');
        if (colon >= 0 && colon > entry.lastIndexOf(']')) {
            if (!AdminUrlCheck.isAsciiDigits(entry.substring(colon + 1))) {
                return false;
            }
            host = entry.substring(0, colon);
        }
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
            for (int i = 0; i < host.length(); i++) {
                char c = host.charAt(i);
                if (!(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == ':' || c == '.'
                        || c == '%')) {
                    return false;
                }
            }
            return true;
        }
        for (int i = 0; i < host.length(); i++) {
            char c = host.charAt(i);
            if (!(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-'
                    || c == '_')) {
                return false;
            }
        }
        return true;
    }

    private static boolean isSchemeChar(char c) {
        return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '+';
    }

    private static int lastIndexOfEncodedAt(String text) {
        return text.toLowerCase(Locale.ROOT).lastIndexOf("%40");
    }

    private static int firstWhitespace(String text) {
        for (int i = 0; i < text.length(); i++) {
            if (Character.isWhitespace(text.charAt(i))) {
                return i;
            }
        }
        return -1;
    }

    private static int firstOf(String text, String chars, int from, int to) {
        for (int i = from; i < to; i++) {
            if (chars.indexOf(text.charAt(i)) >= 0) {
                return i;
            }
        }
        return to;
    }
}
