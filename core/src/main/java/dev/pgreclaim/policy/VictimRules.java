package dev.pgreclaim.policy;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The configurable part of "who may be terminated", shared by the agent and the CLI so both apply the same rules.
 * The fixed part (only {@code idle} client backends of the refused role, never superusers, never advisory-lock
 * holders, never the admin session) lives in the victim statement itself.
 */
public final class VictimRules {
    private final long minIdleMillis;
    private final List<String> protectedApplications;
    private final List<String> protectedUsers;
    private final List<String> protectedDatabases;
    private final boolean protectListeners;

    /** Listeners protected (the default of {@code pgreclaim.protect.listeners}). */
    public VictimRules(long minIdleMillis, List<String> protectedApplications, List<String> protectedUsers,
            List<String> protectedDatabases) {
        this(minIdleMillis, protectedApplications, protectedUsers, protectedDatabases, true);
    }

    public VictimRules(long minIdleMillis, List<String> protectedApplications, List<String> protectedUsers,
            List<String> protectedDatabases, boolean protectListeners) {
        if (minIdleMillis < 0) {
            throw new IllegalArgumentException("min-idle must not be negative: " + minIdleMillis);
        }
        this.minIdleMillis = minIdleMillis;
        this.protectedApplications = copy(protectedApplications);
        this.protectedUsers = copy(protectedUsers);
        this.protectedDatabases = copy(protectedDatabases);
        this.protectListeners = protectListeners;
    }

    private static List<String> copy(List<String> patterns) {
        return Collections.unmodifiableList(new ArrayList<String>(patterns));
    }

    public long minIdleMillis() {
        return minIdleMillis;
    }

    /** {@code application_name} patterns ({@code *}, {@code ?}) whose sessions are never terminated. */
    public List<String> protectedApplications() {
        return protectedApplications;
    }

    /** Role-name patterns never terminated. */
    public List<String> protectedUsers() {
        return protectedUsers;
    }

    /** Database-name patterns never terminated. */
    public List<String> protectedDatabases() {
        return protectedDatabases;
    }

    /**
     * True: a session whose last statement was {@code LISTEN} is never terminated (it sits idle by design, and
     * ending it silently loses notifications).
     */
    public boolean protectListeners() {
        return protectListeners;
    }

    /** True when a role name matches a protected-user pattern (the agent then does not act for that role). */
    public boolean protectsUser(String role) {
        for (String pattern : protectedUsers) {
            if (Globs.matches(pattern, role)) {
                return true;
            }
        }
        return false;
    }
}
