package dev.pgreclaim.demo;

import dev.pgreclaim.testkit.PostgresServer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A server the user runs ({@code --url}): used, never stopped; the demo drops only what it created there. */
final class ExistingServer implements PostgresServer {
    private static final Pattern URL = Pattern.compile("jdbc:postgresql://([^:/?]+|\\[[^]]+])(?::(\\d+))?(?:/([^?]*))?(?:\\?.*)?");

    private final String host;
    private final int port;
    private final String database;
    private final String user;
    private final String password;

    ExistingServer(String url, String user, String password) {
        Matcher matcher = URL.matcher(url);
        if (!matcher.matches()) {
            throw new IllegalArgumentException("expected jdbc:postgresql://host[:port]/database, got " + url);
        }
        this.host = matcher.group(1);
        this.port = matcher.group(2) == null ? 5432 : Integer.parseInt(matcher.group(2));
        this.database = matcher.group(3) == null || matcher.group(3).isEmpty() ? "postgres" : matcher.group(3);
        this.user = user;
        this.password = password == null ? "" : password;
    }

    /** The database named in the URL (default postgres): where the demo runs its superuser statements. */
    String database() {
        return database;
    }

    @Override
    public String kind() {
        return "existing";
    }

    @Override
    public String host() {
        return host;
    }

    @Override
    public int port() {
        return port;
    }

    @Override
    public String superuser() {
        return user;
    }

    @Override
    public String superuserPassword() {
        return password;
    }

    @Override
    public boolean canRestart() {
        return false;
    }

    @Override
    public void restart() {
        throw new UnsupportedOperationException("the demo does not restart a server it did not start");
    }

    @Override
    public void close() {
        // not ours
    }

    @Override
    public String toString() {
        return "existing PostgreSQL " + host + ":" + port + " as " + user;
    }
}
