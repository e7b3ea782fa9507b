package dev.pgreclaim.policy;

import java.util.Locale;

/**
 * Which limit refused an open with SQLState 53300, told apart by the server's routine name (never by the message
 * text, which {@code lc_messages} translates and which changes between majors).
 */
public enum LimitKind {
    /** The role's {@code CONNECTION LIMIT}: cured by ending one of that role's idle sessions. */
    ROLE,
    /** The database's {@code CONNECTION LIMIT}: cured by ending an idle session in that database. */
    DATABASE,
    /** Only reserved slots are left ({@code superuser_reserved_connections}, PG16+ {@code reserved_connections}). */
    RESERVED,
    /** No free process slot ({@code max_connections}) or the postmaster's child limit. */
    SERVER,
    /** SQLState 53300 with a routine this version does not know: never acted on. */
    UNKNOWN;

    public String token() {
        return name().toLowerCase(Locale.ROOT);
    }
}
