package dev.pgreclaim.reclaim;

import dev.pgreclaim.policy.Globs;
import dev.pgreclaim.policy.VictimRules;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.LockSupport;

/**
 * The only place that knows the SQL of victim selection. Used by the agent and the CLI alike.
 *
 * <p>Selection and termination are one statement, so the state, the idle age and every {@link KillGuards guard} are
 * checked at the moment of the kill, not a round trip earlier. The window that remains (a session that starts a
 * statement between the check and the signal's arrival) cannot be closed from another session; the minimum idle age
 * makes it unlikely. The statement must run in autocommit: {@code pg_stat_activity} is a snapshot taken once per
 * transaction.
 *
 * <p>Never a victim: anything but a {@code client backend}; any state but {@code idle} (so never {@code active},
 * {@code idle in transaction}, aborted or not, and never NULL, which is what a role without
 * {@code pg_read_all_stats} sees); a session not waiting for its client ({@code ClientRead}): one already signalled
 * wakes from that wait and keeps {@code idle} while it exits; sessions idle for less than the minimum; superuser
 * sessions; sessions holding a session-level advisory lock (ending them would silently release leader-election or
 * migration locks); sessions whose last statement was {@code LISTEN} (unless allowed); the admin session itself;
 * sessions matching a protect pattern; other roles' sessions.
 *
 * <p>The admin role runs this in databases the application role may own, so every function, operator, cast type
 * and relation is schema-qualified to {@code pg_catalog} (operators as {@code OPERATOR(pg_catalog.=)}, which binds
 * as tightly as any other operator: hence the parentheses), besides the search path pinned at login
 * ({@link AdminLoginProperties}). No {@code IN}, {@code LIKE}, {@code BETWEEN}, {@code NULLIF} or
 * {@code IS DISTINCT FROM}: they look their operator up by name. Parameters are cast to {@code pg_catalog} types,
 * since pgjdbc binds strings as {@code varchar}.
 */
public final class VictimQuery {
    /** application_name of the agent's and CLI's own admin sessions; never a victim, whatever the role. */
    /**
     * How long a session of the requesting application must have been idle to count as spare (the requester then is
     * not starving, and nothing is terminated for it).
     */
    public static final long REQUESTER_SPARE_MILLIS = 1000;

    public static final String ADMIN_APPLICATION_NAME = "pg-reclaim-admin";

    private static final String EQ = " OPERATOR(pg_catalog.=) ";
    private static final String NE = " OPERATOR(pg_catalog.<>) ";
    private static final String LT = " OPERATOR(pg_catalog.<) ";
    private static final String LE = " OPERATOR(pg_catalog.<=) ";
    private static final String GE = " OPERATOR(pg_catalog.>=) ";
    private static final String MINUS = " OPERATOR(pg_catalog.-) ";
    private static final String TIMES = " OPERATOR(pg_catalog.*) ";
    private static final String LIKE = " OPERATOR(pg_catalog.~~) ";
    private static final String MATCHES_CI = " OPERATOR(pg_catalog.~*) ";
    private static final String COUNT = "pg_catalog.count(*)";

    /** One row of parameters, then the sets every statement shares; all from one pg_stat_activity snapshot. */
    private static final String SETS = "with p as (select"
            + " cast(? as pg_catalog.text) as role,"
            + " cast(? as pg_catalog.int8) as min_idle_ms,"
            + " cast(? as pg_catalog.text) as scope_db,"
            + " cast(? as pg_catalog.text[]) as protect_apps,"
            + " cast(? as pg_catalog.text[]) as protect_dbs,"
            + " cast(? as pg_catalog.text[]) as protect_users,"
            + " cast(? as pg_catalog.bool) as protect_listeners,"
            + " cast(? as pg_catalog.int4[]) as excluded,"
            + " cast(? as pg_catalog.int4[]) as requesters,"
            + " cast(? as pg_catalog.text) as open_db,"
            + " cast(? as pg_catalog.bool) as need_slot),"
            + " a as (select s.pid, s.usesysid, s.usename, s.datid, s.datname, s.application_name, s.client_addr,"
            + "   s.client_port, s.backend_type, s.state, s.state_change, s.wait_event_type, s.wait_event, s.query"
            + "   from pg_catalog.pg_stat_activity s),"
            // Without pg_read_all_stats (or membership in the role) backend_type is NULL as well as state (PG15
            // pg_stat_get_activity): such rows are kept here so they can be counted as hidden.
            + " mine as (select a.* from a, p"
            + "   where (a.backend_type is null or a.backend_type" + EQ + "'client backend')"
            + "     and a.usename" + EQ + "p.role"
            + "     and a.pid" + NE + "pg_catalog.pg_backend_pid()"
            + "     and (p.scope_db is null or a.datname" + EQ + "p.scope_db)),"
            + " idle as (select m.* from mine m, p"
            + "   where m.backend_type" + EQ + "'client backend'"
            + "     and m.state" + EQ + "'idle'"
            + "     and m.state_change" + LE + "(pg_catalog.clock_timestamp()" + MINUS
            + "(cast(p.min_idle_ms as pg_catalog.float8)" + TIMES + "cast('1 millisecond' as pg_catalog.interval)))"
            + "     and coalesce(m.application_name, '')" + NE + "'" + ADMIN_APPLICATION_NAME + "'"
            + "     and not (coalesce(m.application_name, '')" + LIKE + "any (p.protect_apps))"
            + "     and not (coalesce(m.datname, '')" + LIKE + "any (p.protect_dbs))"
            + "     and not (m.usename" + LIKE + "any (p.protect_users))"
            + "     and not exists (select 1 from pg_catalog.pg_roles r"
            + "       where r.oid" + EQ + "m.usesysid and r.rolsuper)"
            + "     and not exists (select 1 from pg_catalog.pg_locks l"
            + "       where l.pid" + EQ + "m.pid and l.locktype" + EQ + "'advisory')),"
            // Last statement LISTEN: idle by design. No backslash in the pattern: standard_conforming_strings may be
            // off for this database.
            + " listening as (select i.pid from idle i, p"
            + "   where p.protect_listeners and coalesce(i.query, '')" + MATCHES_CI
            + "'^[[:space:]]*listen[[:space:]]'),"
            + " eligible as (select i.* from idle i where not exists (select 1 from listening n"
            + "   where n.pid" + EQ + "i.pid)),"
            // A signalled backend leaves ClientRead as soon as it wakes, but stays 'idle' while it exits (dropping
            // its temporary tables, say): so neither this caller, another JVM nor the CLI picks it twice.
            + " ready as (select e.* from eligible e, p"
            + "   where e.wait_event_type" + EQ + "'Client' and e.wait_event" + EQ + "'ClientRead'"
            + "     and not (e.pid" + EQ + "any (p.excluded))),"
            + " requester as (select " + COUNT + " as idle from a, p"
            + "   where a.pid" + EQ + "any (p.requesters) and a.usename" + EQ + "p.role"
            + "     and a.backend_type" + EQ + "'client backend' and a.state" + EQ + "'idle'"
            + "     and a.wait_event" + EQ + "'ClientRead'"
            // Spare, not between two statements of a busy caller: a connection just opened, or one a thread holds
            // while it works, is idle for milliseconds; one sitting in a pool for a second or more is spare.
            + "     and a.state_change" + LE + "(pg_catalog.clock_timestamp()" + MINUS + "cast('"
            + REQUESTER_SPARE_MILLIS + " milliseconds' as pg_catalog.interval))),"
            // As CountDBConnections (12-17): every backend of the database but background workers (client
            // backends, autovacuum workers, walsenders); hidden rows count too. The refused backend counts itself,
            // so the open gets in when fewer than datconnlimit remain after the kill.
            + " db as (select d.datname, d.datconnlimit as lim, (select " + COUNT + " from a"
            + "     where a.datid" + EQ + "d.oid and (a.backend_type is null"
            + "       or a.backend_type" + EQ + "'client backend' or a.backend_type" + EQ + "'autovacuum worker'"
            + "       or a.backend_type" + EQ + "'walsender')) as used"
            + "   from pg_catalog.pg_database d, p where d.datname" + EQ + "p.open_db),"
            // A non-superuser gets in while max_connections - reserved slots are not all taken by client backends
            // (InitPostgres: HaveNFreeProcs); this admin session holds one of them too.
            + " srv as (select (select " + COUNT + " from a where a.backend_type" + EQ + "'client backend') as used,"
            + "   cast(pg_catalog.current_setting('max_connections') as pg_catalog.int4)" + MINUS
            + "   cast(pg_catalog.current_setting('superuser_reserved_connections') as pg_catalog.int4)" + MINUS
            + "   coalesce(cast(pg_catalog.current_setting('reserved_connections', true) as pg_catalog.int4), 0)"
            + "   as usable)";

    private static final String VICTIMS = SETS + ", pick as (select e.* from ready e, p, srv, requester"
            + "   where requester.idle" + EQ + "0"
            + "     and (not p.need_slot or (srv.used" + MINUS + "1)" + LT + "srv.usable)"
            // a victim in the open's database frees a slot there too; one elsewhere does not
            + "     and (p.open_db is null or not exists (select 1 from db)"
            + "       or exists (select 1 from db where db.lim" + EQ + "-1"
            + "         or (db.used" + MINUS + "(case when e.datname" + EQ + "db.datname then 1 else 0 end))"
            + LT + "db.lim))"
            + "   order by e.state_change, e.pid"
            + "   limit ?)"
            + " select v.pid, v.usename, v.datname, v.application_name,"
            + " coalesce(pg_catalog.host(v.client_addr), 'local') as client,"
            + " coalesce(v.client_port, -1) as client_port,"
            + " greatest(0, cast(pg_catalog.date_part('epoch', pg_catalog.clock_timestamp()" + MINUS
            + "v.state_change)" + TIMES + "cast(1000 as pg_catalog.float8) as pg_catalog.int8)) as idle_ms,"
            + " %s as terminated"
            + " from pick v order by v.state_change, v.pid";

    /** Terminates at most one session (limit 1 in the set, so the function runs once). */
    private static final String TERMINATE_ONE = String.format(VICTIMS, "pg_catalog.pg_terminate_backend(v.pid)");
    /** The same selection, killing nothing: observe mode and dry runs. */
    private static final String SELECT_ONLY = String.format(VICTIMS, "false");

    private static final String WHY_NONE = SETS + " select"
            + " (select " + COUNT + " from mine) as sessions,"
            // hidden: what the admin may not see (pg_stat_get_activity then shows '<insufficient privilege>' and,
            // from PG 13 on, no backend_type). A backend between login and its first ReadyForQuery also has no
            // state, but a visible backend_type and an empty query: another JVM's login, never a privilege error.
            + " (select " + COUNT + " from mine where mine.state is null and (mine.backend_type is null"
            + "   or mine.query" + EQ + "'<insufficient privilege>')) as hidden,"
            + " (select " + COUNT + " from mine where mine.state" + EQ + "'idle') as idle,"
            + " (select " + COUNT + " from mine where mine.state" + EQ + "'active') as active,"
            + " (select " + COUNT + " from listening) as listeners,"
            + " (select " + COUNT + " from eligible) as eligible,"
            + " (select " + COUNT + " from ready) as ready,"
            + " (select requester.idle from requester) as requester_idle,"
            + " (select db.datname from db) as open_db,"
            + " (select db.lim from db) as db_limit,"
            + " (select db.used from db) as db_used,"
            // the database refuses when no ready session, once ended, leaves it room
            + " coalesce((select db.lim" + NE + "-1 and not exists (select 1 from ready e"
            + "   where (db.used" + MINUS + "(case when e.datname" + EQ + "db.datname then 1 else 0 end))" + LT
            + "db.lim) and (db.used" + GE + "db.lim or exists (select 1 from ready))"
            + "   from db), false) as db_refuses,"
            + " (select srv.used from srv) as slots_used,"
            + " (select srv.usable from srv) as slots_usable,"
            + " (select p.need_slot and (srv.used" + MINUS + "(case when exists (select 1 from ready) then 1 else 0"
            + "   end))" + GE + "srv.usable from p, srv) as server_refuses"
            + " from p";

    /** Package-visible for tests that must tell the exit wait from the kill in {@code pg_stat_activity.query}. */
    static final String STILL_THERE = "select " + COUNT + " from pg_catalog.pg_stat_activity a"
            + " where a.pid" + EQ + "cast(? as pg_catalog.int4)";

    private VictimQuery() {
    }

    /** Selects and terminates the longest-idle eligible session the guards allow; null when there is none. */
    public static Victim terminateOne(Connection admin, VictimScope scope, VictimRules rules, KillGuards guards)
            throws SQLException {
        List<Victim> victims = victims(admin, TERMINATE_ONE, scope, rules, guards, 1);
        return victims.isEmpty() ? null : victims.get(0);
    }

    /** {@link #terminateOne(Connection, VictimScope, VictimRules, KillGuards)} with {@link KillGuards#NONE}. */
    public static Victim terminateOne(Connection admin, VictimScope scope, VictimRules rules) throws SQLException {
        return terminateOne(admin, scope, rules, KillGuards.NONE);
    }

    /** The sessions {@link #terminateOne} could take, longest idle first, without terminating any. */
    public static List<Victim> candidates(Connection admin, VictimScope scope, VictimRules rules, KillGuards guards,
            int limit) throws SQLException {
        return victims(admin, SELECT_ONLY, scope, rules, guards, limit);
    }

    /** {@link #candidates(Connection, VictimScope, VictimRules, KillGuards, int)} with {@link KillGuards#NONE}. */
    public static List<Victim> candidates(Connection admin, VictimScope scope, VictimRules rules, int limit)
            throws SQLException {
        return candidates(admin, scope, rules, KillGuards.NONE, limit);
    }

    /** Why {@link #terminateOne} finds (or would find) no session, in one statement. */
    public static NoVictim whyNone(Connection admin, VictimScope scope, VictimRules rules, KillGuards guards)
            throws SQLException {
        PreparedStatement statement = admin.prepareStatement(WHY_NONE);
        try {
            bind(statement, scope, rules, guards);
            ResultSet rows = statement.executeQuery();
            try {
                rows.next();
                int dbLimit = rows.getInt("db_limit");
                int dbUsed = rows.getInt("db_used");
                return new NoVictim(scope, rules, rows.getInt("sessions"), rows.getInt("hidden"),
                        rows.getInt("idle"), rows.getInt("active"), rows.getInt("listeners"),
                        rows.getInt("eligible"), rows.getInt("ready"), rows.getInt("requester_idle"),
                        rows.getBoolean("db_refuses") ? rows.getString("open_db") : null, dbLimit, dbUsed,
                        rows.getBoolean("server_refuses"), rows.getInt("slots_used"), rows.getInt("slots_usable"));
            } finally {
                rows.close();
            }
        } finally {
            statement.close();
        }
    }

    private static List<Victim> victims(Connection admin, String sql, VictimScope scope, VictimRules rules,
            KillGuards guards, int limit) throws SQLException {
        PreparedStatement statement = admin.prepareStatement(sql);
        try {
            int next = bind(statement, scope, rules, guards);
            statement.setInt(next, limit);
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

    /** Binds the parameter row of {@link #SETS}; returns the next parameter index. */
    private static int bind(PreparedStatement statement, VictimScope scope, VictimRules rules,
            KillGuards guards) throws SQLException {
        int i = 1;
        statement.setString(i++, scope.role());
        statement.setLong(i++, rules.minIdleMillis());
        setText(statement, i++, scope.database());
        statement.setString(i++, likeArray(rules.protectedApplications()));
        statement.setString(i++, likeArray(rules.protectedDatabases()));
        statement.setString(i++, likeArray(rules.protectedUsers()));
        statement.setBoolean(i++, rules.protectListeners());
        statement.setString(i++, guards.excludedLiteral());
        statement.setString(i++, guards.requestersLiteral());
        setText(statement, i++, guards.openDatabase());
        statement.setBoolean(i++, guards.needServerSlot());
        return i;
    }

    private static void setText(PreparedStatement statement, int index, String value) throws SQLException {
        if (value == null) {
            statement.setNull(index, Types.VARCHAR);
        } else {
            statement.setString(index, value);
        }
    }

    /**
     * The protect patterns as a {@code text[]} literal, every element double-quoted with {@code "} and {@code \\}
     * escaped, so the server's array input reads back exactly these strings (never a NULL element). Sent as a string
     * and cast on the server ({@code cast(? as pg_catalog.text[])}): no driver array objects, whose encoding classes
     * would otherwise load on the first refused open of a JVM.
     */
    static String likeArray(List<String> globs) {
        StringBuilder literal = new StringBuilder().append('{');
        for (int i = 0; i < globs.size(); i++) {
            if (i > 0) {
                literal.append(',');
            }
            literal.append('"');
            String like = Globs.toLike(globs.get(i));
            for (int c = 0; c < like.length(); c++) {
                char ch = like.charAt(c);
                if (ch == '"' || ch == '\\') {
                    literal.append('\\');
                }
                literal.append(ch);
            }
            literal.append('"');
        }
        return literal.append('}').toString();
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

    /** How often {@link #awaitExit} looks again. */
    private static final long EXIT_POLL_NANOS = 500_000;

    /**
     * The victim's slot is free only once it has exited; {@code pg_terminate_backend} returns when the signal is
     * sent. Polls {@code pg_stat_activity} (a fresh snapshot per autocommit statement) until the pid is gone,
     * {@code untilNanos} (a {@link System#nanoTime()} instant) or an interrupt. The agent, the wrapper and the CLI
     * all wait here, each holding the role's cross-JVM lock, so nobody picks the same still-exiting session.
     *
     * @return true when the session has left
     */
    public static boolean awaitExit(Connection admin, int pid, long untilNanos) throws SQLException {
        while (stillThere(admin, pid)) {
            if (System.nanoTime() + EXIT_POLL_NANOS >= untilNanos || Thread.currentThread().isInterrupted()) {
                return false;
            }
            LockSupport.parkNanos(EXIT_POLL_NANOS);
        }
        return true;
    }
}
