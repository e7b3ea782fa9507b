package dev.pgreclaim.reclaim;

import dev.pgreclaim.policy.Durations;

/** A session picked by {@link VictimQuery}, as {@code pg_stat_activity} showed it at the moment of the kill. */
public final class Victim {
    private final int pid;
    private final String role;
    private final String database;
    private final String applicationName;
    private final String clientAddress;
    private final int clientPort;
    private final long idleMillis;
    private final boolean terminated;

    public Victim(int pid, String role, String database, String applicationName, String clientAddress,
            int clientPort, long idleMillis, boolean terminated) {
        this.pid = pid;
        this.role = role;
        this.database = database;
        this.applicationName = applicationName;
        this.clientAddress = clientAddress;
        this.clientPort = clientPort;
        this.idleMillis = idleMillis;
        this.terminated = terminated;
    }

    public int pid() {
        return pid;
    }

    public String role() {
        return role;
    }

    public String database() {
        return database;
    }

    public String applicationName() {
        return applicationName;
    }

    /** Client address, or {@code local} for a Unix-socket session. */
    public String clientAddress() {
        return clientAddress;
    }

    /** Client port, -1 for a Unix-socket session. */
    public int clientPort() {
        return clientPort;
    }

    public long idleMillis() {
        return idleMillis;
    }

    /** True when {@code pg_terminate_backend} reported the signal sent. */
    public boolean terminated() {
        return terminated;
    }

    /** {@code pid=.. role=.. database=.. application_name='..' client=..:.. idle=..}: the audit fields. */
    public String describe() {
        return "pid=" + pid + " role=" + role + " database=" + database + " application_name='"
                + (applicationName == null ? "" : applicationName) + "' client=" + clientAddress
                + (clientPort >= 0 ? ":" + clientPort : "") + " idle=" + Durations.human(idleMillis);
    }

    @Override
    public String toString() {
        return describe();
    }
}
