package dev.pgreclaim.reclaim;

import java.io.UnsupportedEncodingException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.URLDecoder;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;

/**
 * What a refused open was aiming at: hosts, database, login role and login timeout, as the application's own pgjdbc
 * reads them. {@link #parse(String, Properties, Object)} asks the driver's public static
 * {@code Driver.parseURL(String, Properties)} (42.2 to 42.7) by reflection, so the agent never links to pgjdbc and
 * never disagrees with it about {@code ?host=}, {@code ?dbname=}, {@code PGHOST}/{@code PGPORT}/{@code PGDBNAME}
 * properties or {@code ?service=}; only a driver without that routine gets this class's own reading of the rules of
 * pgjdbc 42.7.
 *
 * <p>A target lives for one open. It keeps no secret the admin session does not need: not the caller's
 * {@code password} (nor one pgjdbc read from {@code .pgpass}), and {@code sslpassword} only when the caller names an
 * {@code sslkey} for it to decrypt (the admin session presents the caller's client key, see
 * {@link #adminBaseProperties()}).
 */
public final class ConnectTarget {
    private static final String PREFIX = "jdbc:postgresql:";
    /** pgjdbc's default for {@code PGPORT}. */
    private static final String DEFAULT_PORT = "5432";
    /** pgjdbc's default for {@code PGHOST}. */
    private static final String DEFAULT_HOST = "localhost";
    private static final String PG_HOST = "PGHOST";
    private static final String PG_PORT = "PGPORT";
    private static final String PG_DBNAME = "PGDBNAME";
    private static final String SSL_PASSWORD = "sslpassword";
    private static final String SSL_KEY = "sslkey";

    /** Marks a driver class without a usable {@code parseURL} (a {@link ClassValue} cannot hold null). */
    private static final Object NO_PARSER = new Object();

    /**
     * {@code parseURL} per driver class. A {@link ClassValue} does not keep an undeployed application's driver class
     * (and its loader) alive the way a static map would.
     */
    private static final ClassValue<Object> PARSERS = new ClassValue<Object>() {
        @Override
        protected Object computeValue(Class<?> driverClass) {
            try {
                Method method = driverClass.getMethod("parseURL", String.class, Properties.class);
                if (Modifier.isStatic(method.getModifiers()) && Properties.class == method.getReturnType()) {
                    return method;
                }
            } catch (NoSuchMethodException | SecurityException noParser) {
                // Handled below: this class's own parser.
            }
            return NO_PARSER;
        }
    };

    private final List<String> hosts;
    private final String database;
    private final String user;
    private final Map<String, String> adminUrlParameters;
    private final Properties adminProperties;
    private final double loginTimeoutSeconds;

    private ConnectTarget(List<String> hosts, String database, String user, Map<String, String> adminUrlParameters,
            Properties adminProperties, double loginTimeoutSeconds) {
        this.hosts = hosts;
        this.database = database;
        this.user = user;
        this.adminUrlParameters = adminUrlParameters;
        this.adminProperties = adminProperties;
        this.loginTimeoutSeconds = loginTimeoutSeconds;
    }

    /**
     * Reads the open as {@code driver} (the application's {@code org.postgresql.Driver}) will: through its
     * {@code parseURL} when it has one, else through {@link #parse(String, Properties)}. Null when the driver would not
     * accept the URL, or when its answer is not one the agent can act on (then the open passes through untouched).
     */
    public static ConnectTarget parse(String url, Properties info, Object driver) {
        if (driver == null) {
            return parse(url, info);
        }
        Object parser = PARSERS.get(driver.getClass());
        if (parser == NO_PARSER) {
            return parse(url, info);
        }
        if (url == null || !url.startsWith(PREFIX)) {
            return null;
        }
        Properties resolved;
        try {
            resolved = (Properties) ((Method) parser).invoke(null, url, stringCopy(info));
        } catch (InvocationTargetException | IllegalAccessException | RuntimeException parserFailure) {
            // pgjdbc 42.2 throws on a malformed %-escape where 42.7 returns null: either way pgjdbc rejects the URL.
            return null;
        }
        return resolved == null ? null : build(url, info, resolved);
    }

    /**
     * This class's own reading of pgjdbc 42.7's URL rules, for a driver without {@code parseURL}. Null when the URL is
     * not one it is sure to read as pgjdbc does (then the open passes through untouched).
     */
    public static ConnectTarget parse(String url, Properties info) {
        Properties resolved = parseLikePgjdbc(url, stringCopy(info));
        return resolved == null ? null : build(url, info, resolved);
    }

    /** Mirrors pgjdbc 42.7's {@code Driver.parseURL}, without {@code ?service=} and {@code .pgpass}. */
    private static Properties parseLikePgjdbc(String url, Properties info) {
        if (url == null || !url.startsWith(PREFIX)) {
            return null;
        }
        int q = url.indexOf('?');
        String server = (q < 0 ? url : url.substring(0, q)).substring(PREFIX.length());
        Properties fromUrl = new Properties();
        if (server.equals("//") || server.equals("///")) {
            server = "";
        } else if (server.startsWith("//")) {
            server = server.substring(2);
            int slash = server.indexOf('/');
            if (slash < 0 || server.indexOf('/', slash + 1) >= 0) {
                return null;
            }
            if (slash < server.length() - 1) {
                String database = decode(server.substring(slash + 1));
                if (database == null) {
                    return null;
                }
                fromUrl.setProperty(PG_DBNAME, database);
            }
            StringBuilder hostList = new StringBuilder();
            StringBuilder portList = new StringBuilder();
            for (String address : server.substring(0, slash).split(",")) {
                int colon = address.lastIndexOf(':');
                if (colon >= 0 && address.lastIndexOf(']') < colon) {
                    hostList.append(colon == 0 ? DEFAULT_HOST : address.substring(0, colon)).append(',');
                    portList.append(address.substring(colon + 1)).append(',');
                } else {
                    hostList.append(address).append(',');
                    portList.append(DEFAULT_PORT).append(',');
                }
            }
            fromUrl.setProperty(PG_HOST, hostList.substring(0, Math.max(0, hostList.length() - 1)));
            fromUrl.setProperty(PG_PORT, portList.substring(0, Math.max(0, portList.length() - 1)));
        } else if (server.startsWith("/")) {
            return null;
        } else {
            String database = decode(server);
            if (database == null) {
                return null;
            }
            fromUrl.setProperty(PG_DBNAME, database);
        }
        for (String pair : (q < 0 ? "" : url.substring(q + 1)).split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            if (eq < 0) {
                fromUrl.setProperty(pair, "");
                continue;
            }
            String key = pgServiceAlias(pair.substring(0, eq));
            if (key.equals("service")) {
                // pg_service.conf is pgjdbc's to read.
                return null;
            }
            String value = decode(pair.substring(eq + 1));
            if (value == null) {
                return null;
            }
            fromUrl.setProperty(key, value);
        }
        Properties resolved = new Properties();
        resolved.putAll(fromUrl);
        for (String name : info.stringPropertyNames()) {
            if (!resolved.containsKey(name)) {
                resolved.setProperty(name, info.getProperty(name));
            }
        }
        if (!resolved.containsKey(PG_PORT)) {
            resolved.setProperty(PG_PORT, DEFAULT_PORT);
        }
        if (!resolved.containsKey(PG_HOST)) {
            resolved.setProperty(PG_HOST, DEFAULT_HOST);
        }
        if (resolved.getProperty("user") != null && !resolved.containsKey(PG_DBNAME)) {
            resolved.setProperty(PG_DBNAME, resolved.getProperty("user"));
        }
        return resolved;
    }

    /** pgjdbc 42.3.2+ reads URL parameters {@code host}, {@code port}, {@code dbname} (any case) as PGHOST, ... */
    private static String pgServiceAlias(String key) {
        String alias = "PG" + key.toUpperCase(Locale.ROOT);
        return alias.equals(PG_HOST) || alias.equals(PG_PORT) || alias.equals(PG_DBNAME) ? alias : key;
    }

    /**
     * Builds the target from pgjdbc's resolved properties (read with {@code getProperty}: 42.2 returns them as
     * defaults of an empty set). Only host, port, database, role and login timeout are taken from there: what the
     * admin session reuses comes from the caller's own URL and properties, so nothing pgjdbc added (a password from
     * {@code .pgpass}, a service file's settings) is copied.
     */
    private static ConnectTarget build(String url, Properties info, Properties resolved) {
        String hostList = resolved.getProperty(PG_HOST);
        String portList = resolved.getProperty(PG_PORT);
        if (hostList == null || portList == null) {
            return null;
        }
        String[] hostNames = hostList.split(",", -1);
        String[] ports = portList.split(",", -1);
        if (hostNames.length != ports.length) {
            return null;
        }
        List<String> hosts = new ArrayList<String>(hostNames.length);
        for (int i = 0; i < hostNames.length; i++) {
            // Untrimmed, as pgjdbc uses them.
            String host = hostNames[i];
            int port;
            try {
                port = Integer.parseInt(ports[i]);
            } catch (NumberFormatException notAPort) {
                return null;
            }
            if (port < 1 || port > 65535) {
                return null;
            }
            if (host.isEmpty()) {
                // pgjdbc 42.2 leaves the host of "//:5000/" or "///" empty and the JDK resolves "" to the loopback
                // address; 42.7 writes localhost there itself.
                host = DEFAULT_HOST;
            }
            if (host.indexOf(':') >= 0 && !host.startsWith("[")) {
                // An IPv6 literal given through PGHOST, unbracketed: bracket it so it can go into a URL authority.
                host = "[" + host + "]";
            }
            hosts.add(host + ":" + port);
        }
        String user = resolved.getProperty("user");
        if (user != null && user.isEmpty()) {
            user = null;
        }
        String database = resolved.getProperty(PG_DBNAME);
        if (database == null || database.isEmpty()) {
            // The server logs an open without a database in to the database named like the role.
            database = user;
        }
        String timeout = resolved.getProperty("loginTimeout");
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
        Map<String, String> urlParameters = urlParameters(url);
        if (urlParameters == null) {
            return null;
        }
        Properties callerProperties = stringCopy(info);
        boolean keepsSslPassword = urlParameters.containsKey(SSL_KEY) || callerProperties.getProperty(SSL_KEY) != null;
        Map<String, String> adminUrlParameters = new LinkedHashMap<String, String>();
        Properties adminProperties = new Properties();
        for (String name : callerProperties.stringPropertyNames()) {
            if (!isCallerOnly(name) && (!name.equalsIgnoreCase(SSL_PASSWORD) || keepsSslPassword
                    && name.equals(SSL_PASSWORD))) {
                adminProperties.setProperty(name, callerProperties.getProperty(name));
            }
        }
        for (Map.Entry<String, String> parameter : urlParameters.entrySet()) {
            String name = parameter.getKey();
            if (name.equalsIgnoreCase(SSL_PASSWORD)) {
                // Kept out of the admin URL, which is kept for the site's life and shown (without parameters) in
                // messages: a URL parameter wins over a property in pgjdbc, so as a property it means the same.
                if (keepsSslPassword && name.equals(SSL_PASSWORD)) {
                    adminProperties.setProperty(name, parameter.getValue());
                }
            } else if (!isCallerOnly(name)) {
                adminUrlParameters.put(name, parameter.getValue());
            }
        }
        return new ConnectTarget(Collections.unmodifiableList(hosts), database, user,
                Collections.unmodifiableMap(adminUrlParameters), adminProperties, loginTimeout);
    }

    /** The URL's parameters as pgjdbc reads them: keys as written, values %-decoded. Null for a bad escape. */
    private static Map<String, String> urlParameters(String url) {
        Map<String, String> parameters = new LinkedHashMap<String, String>();
        int q = url.indexOf('?');
        if (q < 0) {
            return parameters;
        }
        for (String pair : url.substring(q + 1).split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            String value = eq < 0 ? "" : decode(pair.substring(eq + 1));
            if (value == null) {
                return null;
            }
            parameters.put(eq < 0 ? pair : pair.substring(0, eq), value);
        }
        return parameters;
    }

    private static Properties stringCopy(Properties info) {
        Properties copy = new Properties();
        if (info != null) {
            for (String name : info.stringPropertyNames()) {
                copy.setProperty(name, info.getProperty(name));
            }
        }
        return copy;
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

    /** {@code host:port} per host as pgjdbc resolved them (IPv6 literals bracketed, default port filled in). */
    public List<String> hosts() {
        return hosts;
    }

    public boolean isMultiHost() {
        return hosts.size() > 1;
    }

    /** The database the open logs in to (the role's name when the URL and properties name none). */
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

    /**
     * The server(s) the open goes to, {@code host:port} as pgjdbc resolved them, joined with {@code ,}: two opens with
     * the same key reach the same server whatever URL form they used. Safe to log.
     */
    public String serverKey() {
        StringBuilder key = new StringBuilder();
        for (int i = 0; i < hosts.size(); i++) {
            key.append(i == 0 ? "" : ",").append(hosts.get(i));
        }
        return key.toString();
    }

    /** A JDBC URL without its parameters (which may carry secrets such as {@code sslpassword}): safe to log. */
    public static String withoutParameters(String url) {
        int query = url.indexOf('?');
        return query < 0 ? url : url.substring(0, query);
    }

    /** {@code host:port/database}, without credentials or parameters: safe to log. */
    public String describe() {
        return hosts.get(0) + (hosts.size() > 1 ? "(+" + (hosts.size() - 1) + " hosts)" : "") + "/" + database;
    }

    /**
     * The admin URL when none is configured: same hosts and database, the caller's URL parameters kept (TLS
     * settings, socket factory and the like) except credentials, the application name and what names the server or
     * database (written into the URL itself).
     */
    public String derivedAdminUrl() {
        return derivedAdminUrl(database);
    }

    /** {@link #derivedAdminUrl()} with another database. */
    public String derivedAdminUrl(String adminDatabase) {
        StringBuilder url = new StringBuilder(PREFIX).append("//").append(serverKey()).append('/');
        url.append(encode(adminDatabase == null ? "" : adminDatabase));
        char separator = '?';
        for (Map.Entry<String, String> parameter : adminUrlParameters.entrySet()) {
            // Keys are written as given: pgjdbc does not decode them.
            url.append(separator).append(parameter.getKey()).append('=').append(encode(parameter.getValue()));
            separator = '&';
        }
        return url.toString();
    }

    /**
     * The caller's connection properties that also suit the admin session (TLS, socket factory, ...), a new copy on
     * each call. {@code sslpassword} is in it only when the caller names an {@code sslkey}: then a server that asks
     * for a client certificate gets the caller's from the admin session too, and the key cannot be read without it.
     */
    public Properties adminBaseProperties() {
        return stringCopy(adminProperties);
    }

    private static boolean isCallerOnly(String name) {
        String key = name.toLowerCase(Locale.ROOT);
        return key.equals("user") || key.equals("password") || key.equals("applicationname")
                || key.equals("logintimeout") || key.equals("connecttimeout") || key.equals("sockettimeout")
                || key.equals("options") || key.equals("assumeminserverversion")
                || key.equals("currentschema") || key.equals("readonly") || key.equals("autosave")
                // Where the open goes: written into the admin URL's authority and path instead.
                || key.equals("pghost") || key.equals("pgport") || key.equals("pgdbname")
                || key.equals("host") || key.equals("port") || key.equals("dbname");
    }

    private static String encode(String text) {
        try {
            return java.net.URLEncoder.encode(text, "UTF-8");
        } catch (UnsupportedEncodingException impossible) {
            return text;
        }
    }
}
