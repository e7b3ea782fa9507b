package dev.pgreclaim.reclaim;

import dev.pgreclaim.policy.Globs;
import dev.pgreclaim.policy.VictimRules;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.util.ArrayList;
import java.util.List;

/**
 * The only place that knows the SQL of victim selection. Used by the agent and the CLI alike.
 *
 * <p>Selection and termination are one statement, so the state and idle age are checked at the moment of the kill,
 * not a round trip earlier. The window that remains (a session that starts a statement between the check and the
 * signal's arrival) cannot be closed from another session; the minimum idle age makes it unlikely. The statement
 * must run in autocommit: {@code pg_stat_activity} is a snapshot taken once per transaction.
 *
 * <p>Never a victim: anything but a {@code client backend}; any state but {@code idle} (so never {@code active},
 * {@code idle in transaction}, aborted or not, and never NULL, which is what a role without
 * {@code pg_read_all_stats} sees); sessions idle for less than the minimum; superuser sessions; sessions holding a
 * session-level advisory lock (ending them would silently release leader-election or migration locks); the admin
 * session itself; sessions matching a protect pattern; other roles' sessions.
 */
public final class VictimQuery {
    /** application_name of the agent's and CLI's own admin sessions; never a victim, whatever the role. */
    public static final String ADMIN_APPLICATION_NAME = "pg-reclaim-admin";

    private static final String CANDIDATES = "select v.pid, v.usename, v.datname, v.application_name,"
            + " coalesce(host(v.client_addr), 'local') as client,"
            + " coalesce(v.client_port, -1) as client_port,"
            + " greatest(0, (extract(epoch from (clock_timestamp() - v.state_change)) * 1000)::bigint) as idle_ms,"
            + " %s as terminated"
            + " from (select a.pid, a.usename, a.datname, a.application_name, a.client_addr, a.client_port,"
            + " a.state_change"
            + "   from pg_stat_activity a"
            + "   where a.backend_type = 'client backend'"
            + "     and a.usename = ?"
            + "     and a.state = 'idle'"
            + "     and a.state_change <= clock_timestamp() - (? * interval '1 millisecond')"
            + "     and a.pid <> pg_backend_pid()"
            + "     and (cast(? as text) is null or a.datname = ?)"
            + "     and coalesce(a.application_name, '') <> '" + ADMIN_APPLICATION_NAME + "'"
            + "     and not (coalesce(a.application_name, '') like any (cast(? as text[])))"
            + "     and not (coalesce(a.datname, '') like any (cast(? as text[])))"
            + "     and not (a.usename like any (cast(? as text[])))"
            + "     and not exists (select 1 from pg_roles r where r.oid = a.usesysid and r.rolsuper)"
            + "     and not exists (select 1 from pg_locks l where l.pid = a.pid and l.locktype = 'advisory')"
            + "   order by a.state_change, a.pid"
            + "   limit ?) v"
            + " order by v.state_change, v.pid";

    /** Terminates at most one session (limit 1 in the subquery, so the function runs once). */
    private static final String TERMINATE_ONE = String.format(CANDIDATES, "pg_terminate_backend(v.pid)");
    /** The same selection, killing nothing: observe mode and dry runs. */
    private static final String SELECT_ONLY = String.format(CANDIDATES, "false");

    private static final String VISIBILITY = "select count(*) as sessions,"
            + " count(*) filter (where a.state is null) as hidden,"
            + " count(*) filter (where a.state = 'idle') as idle,"
            + " count(*) filter (where a.state = 'active') as active"
            // Without pg_read_all_stats (or membership in the role) backend_type is NULL as well as state (PG15
            // pg_stat_get_activity): a backend_type filter alone would count nothing and hide the real reason.
            + " from pg_stat_activity a where coalesce(a.backend_type, 'client backend') = 'client backend'"
            + " and a.usename = ?"
            + " and a.pid <> pg_backend_pid()";

    private static final String STILL_THERE = "select count(*) from pg_stat_activity where pid = ?";

    private VictimQuery() {
    }

    /** Selects and terminates the longest-idle eligible session; null when there is none. */
    public static Victim terminateOne(Connection admin, VictimScope scope, VictimRules rules) throws SQLException {
        List<Victim> victims = run(admin, TERMINATE_ONE, scope, rules, 1);
        return victims.isEmpty() ? null : victims.get(0);
    }

    /** The eligible sessions, longest idle first, without terminating any. */
    public static List<Victim> candidates(Connection admin, VictimScope scope, VictimRules rules, int limit)
            throws SQLException {
        return run(admin, SELECT_ONLY, scope, rules, limit);
    }

    private static List<Victim> run(Connection admin, String sql, VictimScope scope, VictimRules rules, int limit)
            throws SQLException {
        PreparedStatement statement = admin.prepareStatement(sql);
        try {
            int i = 1;
            statement.setString(i++, scope.role());
            statement.setLong(i++, rules.minIdleMillis());
            if (scope.database() == null) {
                statement.setNull(i++, Types.VARCHAR);
                statement.setNull(i++, Types.VARCHAR);
            } else {
                statement.setString(i++, scope.database());
                statement.setString(i++, scope.database());
            }
            statement.setArray(i++, likeArray(admin, rules.protectedApplications()));
            statement.setArray(i++, likeArray(admin, rules.protectedDatabases()));
            statement.setArray(i++, likeArray(admin, rules.protectedUsers()));
            statement.setInt(i, limit);
            ResultSet rows = statement.executeQuery();
            try {
                List<Victim> victims = new ArrayList<Victim>();
                while (rows.next()) {
                    victims.add(new Victim(rows.getInt("pid"), rows.getString("usename"), rows.getString("datname"),
                            rows.getString("application_name"), rows.getString("client"),
                            rows.getInt("client_port"), rows.getLong("idle_ms"), rows.getBoolean("terminated")));
                }
                return victims;
            } finally {
                rows.close();
            }
        } finally {
            statement.close();
        }
    }

    private static Array likeArray(Connection admin, List<String> globs) throws SQLException {
        String[] like = new String[globs.size()];
        for (int i = 0; i < like.length; i++) {
            like[i] = Globs.toLike(globs.get(i));
        }
        return admin.createArrayOf("text", like);
    }

    /** TEMPORARY lead-side stub overloads; replaced at merge. */
    public static Victim terminateOne(Connection admin, VictimScope scope, VictimRules rules, KillGuards guards)
            throws SQLException {
        return terminateOne(admin, scope, rules);
    }

    public static List<Victim> candidates(Connection admin, VictimScope scope, VictimRules rules, KillGuards guards,
            int limit) throws SQLException {
        return candidates(admin, scope, rules, limit);
    }

    public static NoVictim whyNone(Connection admin, VictimScope scope, VictimRules rules, KillGuards guards)
            throws SQLException {
        Visibility seen = visibility(admin, scope.role());
        return new NoVictim(seen.hidden, 0, false, seen.sessions + " session(s), " + seen.active + " active, "
                + seen.idle + " idle");
    }

    /** TEMPORARY stub. */
    public static final class NoVictim {
        private final int hidden;
        private final int requesterIdle;
        private final boolean otherLimitFull;
        private final String description;

        NoVictim(int hidden, int requesterIdle, boolean otherLimitFull, String description) {
            this.hidden = hidden;
            this.requesterIdle = requesterIdle;
            this.otherLimitFull = otherLimitFull;
            this.description = description;
        }

        public int hidden() {
            return hidden;
        }

        public int requesterIdle() {
            return requesterIdle;
        }

        public boolean otherLimitFull() {
            return otherLimitFull;
        }

        public String describe() {
            return description;
        }
    }

    /** How the role's sessions look to the admin role; used to explain why no victim was found. */
    public static Visibility visibility(Connection admin, String role) throws SQLException {
        PreparedStatement statement = admin.prepareStatement(VISIBILITY);
        try {
            statement.setString(1, role);
            ResultSet rows = statement.executeQuery();
            try {
                rows.next();
                return new Visibility(rows.getInt("sessions"), rows.getInt("hidden"), rows.getInt("idle"),
                        rows.getInt("active"));
            } finally {
                rows.close();
            }
        } finally {
            statement.close();
        }
    }

    /** True while the backend still shows in {@code pg_stat_activity} (autocommit: a fresh snapshot each call). */
    public static boolean stillThere(Connection admin, int pid) throws SQLException {
        PreparedStatement statement = admin.prepareStatement(STILL_THERE);
        try {
            statement.setInt(1, pid);
            ResultSet rows = statement.executeQuery();
            try {
                return rows.next() && rows.getInt(1) > 0;
            } finally {
                rows.close();
            }
        } finally {
            statement.close();
        }
    }

    /** Counts of a role's client sessions as the admin role sees them. */
    public static final class Visibility {
        public final int sessions;
        /** Sessions whose state is NULL: the admin role lacks pg_read_all_stats (or membership in the role). */
        public final int hidden;
        public final int idle;
        public final int active;

        Visibility(int sessions, int hidden, int idle, int active) {
            this.sessions = sessions;
            this.hidden = hidden;
            this.idle = idle;
            this.active = active;
        }
    }
}
