package dev.pgreclaim.policy;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/** The validated, immutable policy the agent runs with. {@link #toString()} never shows the admin password. */
public final class Policy {
    final Mode mode;
    final Set<LimitKind> actOn;
    final String adminUrl;
    final String adminUser;
    final String adminPassword;
    final String adminPasswordSource;
    final long adminKeepAliveMillis;
    final VictimRules victimRules;
    final int maxAttempts;
    final long deadlineMillis;
    final int budgetTerminations;
    final long budgetWindowMillis;
    final boolean selfCheck;
    final boolean rehearse;
    final boolean jmx;
    final List<String> warnings;

    Policy(Builder builder) {
        this.mode = builder.mode;
        this.actOn = Collections.unmodifiableSet(EnumSet.copyOf(builder.actOn));
        this.adminUrl = builder.adminUrl;
        this.adminUser = builder.adminUser;
        this.adminPassword = builder.adminPassword;
        this.adminPasswordSource = builder.adminPasswordSource;
        this.adminKeepAliveMillis = builder.adminKeepAliveMillis;
        this.victimRules = new VictimRules(builder.minIdleMillis, builder.protectApplications, builder.protectUsers,
                builder.protectDatabases, builder.protectListeners);
        this.maxAttempts = builder.maxAttempts;
        this.deadlineMillis = builder.deadlineMillis;
        this.budgetTerminations = builder.budgetTerminations;
        this.budgetWindowMillis = builder.budgetWindowMillis;
        this.selfCheck = builder.selfCheck;
        this.rehearse = builder.rehearse;
        this.jmx = builder.jmx;
        this.warnings = Collections.unmodifiableList(new ArrayList<String>(builder.warnings));
    }

    public Mode mode() {
        return mode;
    }

    /** Limit kinds acted on in {@link Mode#TERMINATE}; the others are observed only. */
    public Set<LimitKind> actOn() {
        return actOn;
    }

    public boolean actsOn(LimitKind kind) {
        return mode == Mode.TERMINATE && actOn.contains(kind);
    }

    /** The configured admin URL, or null to derive it from the refused open. */
    public String adminUrl() {
        return adminUrl;
    }

    /** The admin role, or null when none is configured. */
    public String adminUser() {
        return adminUser;
    }

    /** The admin password, or null to let pgjdbc's {@code .pgpass} lookup apply. Never log this. */
    public String adminPassword() {
        return adminPassword;
    }

    public long adminKeepAliveMillis() {
        return adminKeepAliveMillis;
    }

    public VictimRules victimRules() {
        return victimRules;
    }

    public int maxAttempts() {
        return maxAttempts;
    }

    public long deadlineMillis() {
        return deadlineMillis;
    }

    public int budgetTerminations() {
        return budgetTerminations;
    }

    public long budgetWindowMillis() {
        return budgetWindowMillis;
    }

    public boolean selfCheck() {
        return selfCheck;
    }

    /** Whether the reclaim path is rehearsed once, off the application's threads ({@code pgreclaim.rehearse}). */
    public boolean rehearse() {
        return rehearse;
    }

    public boolean jmx() {
        return jmx;
    }

    /** Things worth saying once at start-up (e.g. a password passed as a property, unknown keys). */
    public List<String> warnings() {
        return warnings;
    }

    /** The effective policy on one line, secrets masked. */
    @Override
    public String toString() {
        StringBuilder line = new StringBuilder(256);
        line.append("mode=").append(mode.token());
        line.append(" act-on=");
        boolean first = true;
        for (LimitKind kind : actOn) {
            line.append(first ? "" : ",").append(kind.token());
            first = false;
        }
        line.append(" admin.url=").append(adminUrl == null ? "(same server as the refused open)"
                : SafeText.scrubUrls(adminUrl));
        line.append(" admin.user=").append(adminUser == null ? "(none)" : adminUser);
        line.append(" admin.password=")
                .append(adminPassword == null ? "(none: .pgpass)" : "****** (" + adminPasswordSource + ")");
        line.append(" admin.keep-alive=").append(Durations.format(adminKeepAliveMillis));
        line.append(" min-idle=").append(Durations.format(victimRules.minIdleMillis()));
        line.append(" max-attempts=").append(maxAttempts);
        line.append(" deadline=").append(Durations.format(deadlineMillis));
        line.append(" budget=").append(budgetTerminations).append('/').append(Durations.format(budgetWindowMillis));
        line.append(" protect.application-names=").append(victimRules.protectedApplications());
        line.append(" protect.users=").append(victimRules.protectedUsers());
        line.append(" protect.databases=").append(victimRules.protectedDatabases());
        line.append(" protect.listeners=").append(victimRules.protectListeners());
        line.append(" self-check=").append(selfCheck);
        line.append(" rehearse=").append(rehearse);
        line.append(" jmx=").append(jmx);
        return line.toString();
    }

    static final class Builder {
        Mode mode = Mode.OBSERVE;
        Set<LimitKind> actOn = EnumSet.of(LimitKind.ROLE);
        String adminUrl;
        String adminUser;
        String adminPassword;
        String adminPasswordSource;
        long adminKeepAliveMillis;
        long minIdleMillis;
        List<String> protectApplications = Collections.emptyList();
        List<String> protectUsers = Collections.emptyList();
        List<String> protectDatabases = Collections.emptyList();
        boolean protectListeners = true;
        int maxAttempts;
        long deadlineMillis;
        int budgetTerminations;
        long budgetWindowMillis;
        boolean selfCheck;
        boolean rehearse;
        boolean jmx;
        final List<String> warnings = new ArrayList<String>();
    }
}
