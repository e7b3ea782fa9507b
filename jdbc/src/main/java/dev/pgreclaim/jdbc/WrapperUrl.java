package dev.pgreclaim.jdbc;

import dev.pgreclaim.policy.Setting;
import java.io.UnsupportedEncodingException;
import java.net.URLDecoder;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * A {@code jdbc:pgreclaim:postgresql:} URL taken apart: the {@code jdbc:postgresql:} URL pgjdbc gets (every
 * {@code pgreclaim.*} parameter removed, everything else exactly as written) and the {@code pgreclaim.*} settings it
 * carried. Secrets are refused here: a URL is shown in logs, pool dumps and error messages, so a URL that carries the
 * admin password is a configuration problem, never a value. Problems never repeat a value.
 */
final class WrapperUrl {
    static final String PREFIX = "jdbc:pgreclaim:";
    static final String ACCEPTED = "jdbc:pgreclaim:postgresql:";
    static final String PGJDBC_PREFIX = "jdbc:postgresql:";

    private final String pgjdbcUrl;
    private final Map<String, String> settings;
    private final List<String> problems;

    private WrapperUrl(String pgjdbcUrl, Map<String, String> settings, List<String> problems) {
        this.pgjdbcUrl = pgjdbcUrl;
        this.settings = settings;
        this.problems = problems;
    }

    /** True for the URLs the wrapper opens: {@code jdbc:pgreclaim:postgresql:...} (case-sensitive, as pgjdbc's). */
    static boolean accepts(String url) {
        return url != null && url.startsWith(ACCEPTED);
    }

    /** Takes an accepted URL apart. */
    static WrapperUrl parse(String url) {
        String rest = url.substring(PREFIX.length());
        int query = rest.indexOf('?');
        if (query < 0) {
            return new WrapperUrl("jdbc:" + rest, Collections.<String, String>emptyMap(),
                    Collections.<String>emptyList());
        }
        Map<String, String> settings = new LinkedHashMap<String, String>();
        List<String> problems = new ArrayList<String>();
        StringBuilder kept = new StringBuilder(rest.length() + 5).append("jdbc:").append(rest, 0, query);
        int keptPairs = 0;
        for (String pair : rest.substring(query + 1).split("&", -1)) {
            int eq = pair.indexOf('=');
            String key = eq < 0 ? pair : pair.substring(0, eq);
            if (!isPgreclaimKey(key)) {
                kept.append(keptPairs++ == 0 ? '?' : '&').append(pair);
                continue;
            }
            Setting setting = Setting.byKey(key);
            if (setting == null) {
                problems.add(shownKey(key) + " in the URL is not a pg-reclaim property");
            } else if (setting.isSecret()) {
                problems.add(setting.key() + " is not accepted in the URL (value not shown): a URL is shown in logs"
                        + " and pool settings; give the admin password with " + Setting.ADMIN_PASSWORD_FILE.key()
                        + ", the environment variable " + Setting.ADMIN_PASSWORD_ENV + " or a connection property");
            } else {
                String value = eq < 0 ? "" : decode(pair.substring(eq + 1));
                if (value == null) {
                    problems.add(setting.key() + " in the URL is not valid percent-encoding (value not shown)");
                } else {
                    settings.put(setting.key(), value);
                }
            }
        }
        return new WrapperUrl(kept.toString(), settings, problems);
    }

    /** A copy of {@code info} without any {@code pgreclaim.*} entry (and without non-String entries). */
    static Properties withoutSettings(Properties info) {
        Properties copy = new Properties();
        if (info != null) {
            for (String name : info.stringPropertyNames()) {
                if (!isPgreclaimKey(name)) {
                    copy.setProperty(name, info.getProperty(name));
                }
            }
        }
        return copy;
    }

    static boolean isPgreclaimKey(String key) {
        return key.startsWith(Setting.PREFIX);
    }

    /** A key is shown back only when it cannot be something else pasted by mistake (a URL, a password). */
    static String shownKey(String key) {
        if (key.length() > 64) {
            return "a pgreclaim.* name (not shown)";
        }
        for (int i = 0; i < key.length(); i++) {
            char c = key.charAt(i);
            if (!(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-'
                    || c == '_')) {
                return "a pgreclaim.* name (not shown)";
            }
        }
        return "'" + key + "'";
    }

    private static String decode(String value) {
        try {
            return URLDecoder.decode(value, "UTF-8");
        } catch (IllegalArgumentException | UnsupportedEncodingException malformed) {
            return null;
        }
    }

    /** The URL pgjdbc opens: {@code jdbc:postgresql:...} without the {@code pgreclaim.*} parameters. */
    String pgjdbcUrl() {
        return pgjdbcUrl;
    }

    /** The {@code pgreclaim.*} parameters, decoded, by full key. */
    Map<String, String> settings() {
        return settings;
    }

    /** What is wrong with the {@code pgreclaim.*} parameters; empty when nothing. Never repeats a value. */
    List<String> problems() {
        return problems;
    }
}
