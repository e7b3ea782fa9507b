package dev.pgreclaim.reclaim;

import java.io.UnsupportedEncodingException;
import java.net.URLDecoder;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;

/**
 * What a refused open was aiming at: hosts, database, login role and login timeout, read the way pgjdbc reads them
 * (URL parameters win over the {@code Properties}). Parsed here rather than by pgjdbc so the agent never links to
 * the application's driver.
 */
public final class ConnectTarget {
    private static final String PREFIX = "jdbc:postgresql:";

    private final List<String> hosts;
    private final String database;
    private final String user;
    private final Map<String, String> urlParameters;
    private final Properties info;
    private final double loginTimeoutSeconds;

    private ConnectTarget(List<String> hosts, String database, String user, Map<String, String> urlParameters,
            Properties info, double loginTimeoutSeconds) {
        this.hosts = hosts;
        this.database = database;
        this.user = user;
        this.urlParameters = urlParameters;
        this.info = info;
        this.loginTimeoutSeconds = loginTimeoutSeconds;
    }

    /** Null when the URL is not a PostgreSQL URL this class understands. */
    public static ConnectTarget parse(String url, Properties info) {
        if (url == null || !url.startsWith(PREFIX)) {
            return null;
        }
        String rest = url.substring(PREFIX.length());
        String query = "";
        int q = rest.indexOf('?');
        if (q >= 0) {
            query = rest.substring(q + 1);
            rest = rest.substring(0, q);
        }
        List<String> hosts = new ArrayList<String>();
        String database;
        if (rest.startsWith("//")) {
            String authorityAndPath = rest.substring(2);
            int slash = authorityAndPath.indexOf('/');
            String authority = slash < 0 ? authorityAndPath : authorityAndPath.substring(0, slash);
            database = slash < 0 ? "" : authorityAndPath.substring(slash + 1);
            for (String host : authority.split(",")) {
                if (!host.trim().isEmpty()) {
                    hosts.add(host.trim());
                }
            }
        } else {
            database = rest;
        }
        Map<String, String> parameters = new LinkedHashMap<String, String>();
        for (String pair : query.split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            String key = decode(eq < 0 ? pair : pair.substring(0, eq));
            String value = eq < 0 ? "" : decode(pair.substring(eq + 1));
            if (key == null || value == null) {
                return null;
            }
            parameters.put(key, value);
        }
        database = decode(database);
        if (database == null) {
            return null;
        }
        Properties copy = new Properties();
        if (info != null) {
            for (String name : info.stringPropertyNames()) {
                copy.setProperty(name, info.getProperty(name));
            }
        }
        String user = parameters.containsKey("user") ? parameters.get("user") : copy.getProperty("user");
        if (user != null && user.isEmpty()) {
            user = null;
        }
        if (database.isEmpty()) {
            String fromProps = parameters.containsKey("PGDBNAME") ? parameters.get("PGDBNAME")
                    : copy.getProperty("PGDBNAME");
            database = fromProps == null || fromProps.isEmpty() ? user : fromProps;
        }
        String timeout = parameters.containsKey("loginTimeout") ? parameters.get("loginTimeout")
                : copy.getProperty("loginTimeout");
        double loginTimeout = 0;
        if (timeout != null) {
            try {
                loginTimeout = Double.parseDouble(timeout);
            } catch (NumberFormatException notANumber) {
                loginTimeout = 0;
            }
        }
        if (loginTimeout <= 0) {
            loginTimeout = java.sql.DriverManager.getLoginTimeout();
        }
        return new ConnectTarget(Collections.unmodifiableList(hosts), database, user,
                Collections.unmodifiableMap(parameters), copy, loginTimeout);
    }

    /** TEMPORARY lead-side stub; the URL-forms branch parses with pgjdbc's own parser. */
    public static ConnectTarget parse(String url, Properties info, Object driver) {
        return parse(url, info);
    }

    /** TEMPORARY lead-side stub. */
    public String serverKey() {
        StringBuilder key = new StringBuilder();
        for (String host : hosts) {
            key.append(key.length() == 0 ? "" : ",").append(host);
        }
        return key.toString();
    }

    private static String decode(String text) {
        try {
            return URLDecoder.decode(text, "UTF-8");
        } catch (UnsupportedEncodingException impossible) {
            return text;
        } catch (IllegalArgumentException malformed) {
            return null;
        }
    }

    /** Host specs as written ({@code host}, {@code host:port}, {@code [::1]:5432}); empty for {@code localhost}. */
    public List<String> hosts() {
        return hosts;
    }

    public boolean isMultiHost() {
        return hosts.size() > 1;
    }

    public String database() {
        return database;
    }

    /** The login role of the open, or null when neither URL nor properties name one. */
    public String user() {
        return user;
    }

    /** The caller's login timeout in seconds (URL, properties, else DriverManager's), 0 for none. */
    public double loginTimeoutSeconds() {
        return loginTimeoutSeconds;
    }

    /** A JDBC URL without its parameters (which may carry secrets such as {@code sslpassword}): safe to log. */
    public static String withoutParameters(String url) {
        int query = url.indexOf('?');
        return query < 0 ? url : url.substring(0, query);
    }

    /** {@code host:port/database}, without credentials or parameters: safe to log. */
    public String describe() {
        String host = hosts.isEmpty() ? "localhost" : hosts.get(0);
        return host + (hosts.size() > 1 ? "(+" + (hosts.size() - 1) + " hosts)" : "") + "/" + database;
    }

    /**
     * The admin URL when none is configured: same hosts and database, the caller's URL parameters kept (TLS
     * settings and the like) except credentials and the application name.
     */
    public String derivedAdminUrl() {
        return derivedAdminUrl(database);
    }

    /** {@link #derivedAdminUrl()} with another database. */
    public String derivedAdminUrl(String adminDatabase) {
        StringBuilder url = new StringBuilder(PREFIX);
        if (!hosts.isEmpty()) {
            url.append("//");
            for (int i = 0; i < hosts.size(); i++) {
                url.append(i == 0 ? "" : ",").append(hosts.get(i));
            }
            url.append('/');
        }
        url.append(encode(adminDatabase));
        char separator = '?';
        for (Map.Entry<String, String> parameter : urlParameters.entrySet()) {
            if (isCallerOnly(parameter.getKey())) {
                continue;
            }
            url.append(separator).append(encode(parameter.getKey())).append('=').append(encode(parameter.getValue()));
            separator = '&';
        }
        return url.toString();
    }

    /** The caller's connection properties that also suit the admin session (TLS, socket factory, ...). */
    public Properties adminBaseProperties() {
        Properties properties = new Properties();
        for (String name : info.stringPropertyNames()) {
            if (!isCallerOnly(name)) {
                properties.setProperty(name, info.getProperty(name));
            }
        }
        return properties;
    }

    private static boolean isCallerOnly(String name) {
        String key = name.toLowerCase(Locale.ROOT);
        return key.equals("user") || key.equals("password") || key.equals("applicationname")
                || key.equals("logintimeout") || key.equals("connecttimeout") || key.equals("sockettimeout")
                || key.equals("options") || key.equals("pgdbname") || key.equals("assumeminserverversion")
                || key.equals("currentschema") || key.equals("readonly") || key.equals("autosave");
    }

    private static String encode(String text) {
        try {
            return java.net.URLEncoder.encode(text, "UTF-8");
        } catch (UnsupportedEncodingException impossible) {
            return text;
        }
    }
}
