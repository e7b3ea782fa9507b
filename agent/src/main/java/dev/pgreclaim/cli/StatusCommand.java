package dev.pgreclaim.cli;

import dev.pgreclaim.policy.Durations;
import dev.pgreclaim.policy.Policy;
import java.io.PrintStream;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** {@code status}: who holds the slots. Per role its limit and counts, then the sessions. Reads only. */
final class StatusCommand {
    static final String NAME = "status";
    private static final String ROLE = "--role";
    private static final String JSON = "--json";

    /**
     * Client sessions per role. A session the admin role may not see has NULL {@code state} and NULL
     * {@code backend_type} (PostgreSQL 15 verified), so those rows are kept and counted as hidden.
     */
    private static final String ROLES = "select r.rolname, r.rolconnlimit, r.rolsuper,"
            + " pg_catalog.count(a.pid) as current,"
            + " pg_catalog.count(a.pid) filter (where a.state OPERATOR(pg_catalog.=) 'active') as active,"
            + " pg_catalog.count(a.pid) filter (where a.state OPERATOR(pg_catalog.=) 'idle') as idle,"
            + " pg_catalog.count(a.pid) filter (where a.state OPERATOR(pg_catalog.~~) 'idle in transaction%')"
            + "   as idle_in_transaction,"
            + " pg_catalog.count(a.pid) filter (where a.state is null) as hidden"
            + " from pg_catalog.pg_roles r"
            + " left join pg_catalog.pg_stat_activity a on a.usesysid OPERATOR(pg_catalog.=) r.oid"
            + "   and (a.backend_type OPERATOR(pg_catalog.=) 'client backend' or a.backend_type is null)"
            + "   and a.pid OPERATOR(pg_catalog.<>) pg_catalog.pg_backend_pid()"
            + " where (cast(? as pg_catalog.text) is null and r.rolcanlogin"
            + "        and r.rolname OPERATOR(pg_catalog.!~) '^pg_'"
            + "        and (r.rolconnlimit OPERATOR(pg_catalog.>=) 0 or a.pid is not null))"
            + "    or r.rolname OPERATOR(pg_catalog.=) cast(? as pg_catalog.text)"
            + " group by r.rolname, r.rolconnlimit, r.rolsuper"
            + " order by r.rolname";

    private static final String SESSIONS = "select a.usename, a.datname, a.backend_type, a.pid, a.state,"
            + " pg_catalog.host(a.client_addr) as client_addr, a.client_port, a.application_name,"
            + " case when a.state OPERATOR(pg_catalog.~~) 'idle%' then"
            + "   greatest(0, cast(pg_catalog.date_part('epoch', pg_catalog.clock_timestamp()"
            + "     OPERATOR(pg_catalog.-) a.state_change) OPERATOR(pg_catalog.*) cast(1000 as pg_catalog.float8)"
            + "     as pg_catalog.int8)) end as idle_ms"
            + " from pg_catalog.pg_stat_activity a"
            + " where a.usename is not null"
            + "   and (a.backend_type OPERATOR(pg_catalog.=) 'client backend' or a.backend_type is null)"
            + "   and a.pid OPERATOR(pg_catalog.<>) pg_catalog.pg_backend_pid()"
            + "   and (cast(? as pg_catalog.text) is null"
            + "     or a.usename OPERATOR(pg_catalog.=) cast(? as pg_catalog.text))"
            + " order by a.usename, a.datname, a.state_change nulls last, a.pid";

    private StatusCommand() {
    }

    static String help() {
        return "Usage: java -jar pg-reclaim-agent.jar status --url URL --user USER [--role R] [--json]\n"
                + "\n"
                + "Shows, per role, its connection limit (-1 = none) and its current, active, idle and\n"
                + "idle-in-transaction client sessions; roles at their limit are marked AT LIMIT, roles at 80%\n"
                + "or more are marked near (in colour on a terminal). Then the sessions, longest idle first per\n"
                + "role and database. Without --role: login roles that have a limit or sessions. Reads only.\n"
                + "\n"
                + "Options:\n"
                + AdminLogin.connectionHelp()
                + "  --role R               only this role\n"
                + "  --json                 one JSON object on stdout (roles, sessions) for scripts\n"
                + "  --color WHEN           auto (default: on a terminal, unless NO_COLOR is set), always, never\n"
                + "  --help                 this text\n"
                + "\n"
                + "Exit codes: 0 shown, 2 usage, connection or privilege error.\n";
    }

    static int run(List<String> argv, PrintStream out, PrintStream err, Map<String, String> environment)
            throws CliException {
        Set<String> valued = AdminLogin.connectionOptions();
        valued.add(ROLE);
        valued.add(Colour.OPTION);
        Set<String> flags = new LinkedHashSet<String>(Arrays.asList(JSON));
        Args args = Args.parse(NAME, argv, valued, flags);
        if (!args.positionals().isEmpty()) {
            throw CliException.usage("unexpected argument '" + args.positionals().get(0) + "' ("
                    + Cli.seeHelp(NAME) + ")");
        }
        String url = AdminLogin.checkedUrl(args, NAME);
        String user = args.require(NAME, AdminLogin.USER);
        String role = args.get(ROLE);
        Colour colour = Colour.choose(args.get(Colour.OPTION), environment);
        Policy policy = AdminLogin.policy(args, environment);

        NestedDriver driver = NestedDriver.load();
        try {
            Connection connection = AdminLogin.open(driver, url, user, policy.adminPassword());
            try {
                List<RoleRow> roles = roles(connection, role);
                if (role != null && roles.isEmpty()) {
                    throw CliException.usage("there is no role " + role + " on this server");
                }
                List<SessionRow> sessions = sessions(connection, role);
                if (args.flag(JSON)) {
                    out.println(json(roles, sessions));
                } else {
                    printText(out, roles, sessions, colour, user);
                }
                return ExitCode.DONE;
            } catch (SQLException failure) {
                throw new CliException(ExitCode.ERROR, "status query failed: " + failure.getMessage()
                        + (failure.getSQLState() == null ? "" : " (SQLState " + failure.getSQLState() + ")"),
                        failure);
            } finally {
                AdminLogin.closeQuietly(connection);
            }
        } finally {
            driver.close();
        }
    }

    private static List<RoleRow> roles(Connection connection, String role) throws SQLException {
        PreparedStatement statement = connection.prepareStatement(ROLES);
        try {
            bindRole(statement, role);
            ResultSet rows = statement.executeQuery();
            List<RoleRow> roles = new ArrayList<RoleRow>();
            while (rows.next()) {
                roles.add(new RoleRow(rows.getString("rolname"), rows.getInt("rolconnlimit"),
                        rows.getBoolean("rolsuper"), rows.getInt("current"), rows.getInt("active"),
                        rows.getInt("idle"), rows.getInt("idle_in_transaction"), rows.getInt("hidden")));
            }
            rows.close();
            return roles;
        } finally {
            statement.close();
        }
    }

    private static List<SessionRow> sessions(Connection connection, String role) throws SQLException {
        PreparedStatement statement = connection.prepareStatement(SESSIONS);
        try {
            bindRole(statement, role);
            ResultSet rows = statement.executeQuery();
            List<SessionRow> sessions = new ArrayList<SessionRow>();
            while (rows.next()) {
                int port = rows.getInt("client_port");
                Integer clientPort = rows.wasNull() ? null : Integer.valueOf(port);
                long idle = rows.getLong("idle_ms");
                Long idleMillis = rows.wasNull() ? null : Long.valueOf(idle);
                sessions.add(new SessionRow(rows.getString("usename"), rows.getString("datname"),
                        rows.getString("backend_type"), rows.getInt("pid"), rows.getString("state"),
                        rows.getString("client_addr"), clientPort, rows.getString("application_name"), idleMillis));
            }
            rows.close();
            return sessions;
        } finally {
            statement.close();
        }
    }

    private static void bindRole(PreparedStatement statement, String role) throws SQLException {
        if (role == null) {
            statement.setNull(1, Types.VARCHAR);
            statement.setNull(2, Types.VARCHAR);
        } else {
            statement.setString(1, role);
            statement.setString(2, role);
        }
    }

    private static void printText(PrintStream out, List<RoleRow> roles, List<SessionRow> sessions, Colour colour,
            String admin) {
        TextTable roleTable = new TextTable(
                new String[] {"role", "limit", "current", "active", "idle", "idle in transaction", "hidden", "status"},
                new boolean[] {false, true, true, true, true, true, true, false});
        int hidden = 0;
        for (RoleRow row : roles) {
            hidden += row.hidden;
            roleTable.add(row.role, String.valueOf(row.limit), String.valueOf(row.current), String.valueOf(row.active),
                    String.valueOf(row.idle), String.valueOf(row.idleInTransaction), String.valueOf(row.hidden),
                    row.marker());
        }
        out.println("Roles (limit -1 = no limit):");
        List<String> lines = roleTable.lines();
        for (int i = 0; i < lines.size(); i++) {
            int row = i - 2;
            String line = lines.get(i);
            if (row >= 0 && row < roles.size() && roles.get(row).atLimit()) {
                line = colour.atLimit(line);
            } else if (row >= 0 && row < roles.size() && roles.get(row).nearLimit()) {
                line = colour.near(line);
            }
            out.println(line);
        }
        if (hidden > 0) {
            out.println("Note: " + hidden + " session(s) show no state to role " + admin + "; it lacks"
                    + " pg_read_all_stats (GRANT pg_read_all_stats TO " + admin + ")");
        }
        out.println();
        out.println("Sessions:");
        TextTable sessionTable = new TextTable(
                new String[] {"usename", "datname", "backend_type", "pid", "state", "client_addr", "client_port",
                    "application_name", "idle"},
                new boolean[] {false, false, false, true, false, false, true, false, true});
        for (SessionRow row : sessions) {
            sessionTable.add(row.user, row.database, row.backendType, String.valueOf(row.pid), row.state,
                    row.clientAddress, row.clientPort == null ? null : row.clientPort.toString(), row.applicationName,
                    row.idleMillis == null ? null : Durations.human(row.idleMillis.longValue()));
        }
        out.print(sessionTable.render());
    }

    private static String json(List<RoleRow> roles, List<SessionRow> sessions) {
        Json json = new Json().beginObject().beginArray("roles");
        for (RoleRow row : roles) {
            json.beginObject().field("role", row.role).field("connection_limit", row.limit)
                    .field("superuser", row.superuser).field("current", row.current).field("active", row.active)
                    .field("idle", row.idle).field("idle_in_transaction", row.idleInTransaction)
                    .field("hidden", row.hidden).field("at_limit", row.atLimit()).field("near_limit", row.nearLimit())
                    .endObject();
        }
        json.endArray().beginArray("sessions");
        for (SessionRow row : sessions) {
            json.beginObject().field("usename", row.user).field("datname", row.database)
                    .field("backend_type", row.backendType).field("pid", row.pid).field("state", row.state)
                    .field("client_addr", row.clientAddress)
                    .field("client_port", row.clientPort == null ? null : Long.valueOf(row.clientPort.longValue()))
                    .field("application_name", row.applicationName).field("idle_ms", row.idleMillis).endObject();
        }
        return json.endArray().endObject().toString();
    }

    static final class RoleRow {
        final String role;
        final int limit;
        final boolean superuser;
        final int current;
        final int active;
        final int idle;
        final int idleInTransaction;
        final int hidden;

        RoleRow(String role, int limit, boolean superuser, int current, int active, int idle, int idleInTransaction,
                int hidden) {
            this.role = role;
            this.limit = limit;
            this.superuser = superuser;
            this.current = current;
            this.active = active;
            this.idle = idle;
            this.idleInTransaction = idleInTransaction;
            this.hidden = hidden;
        }

        /** Superusers are exempt from role limits, so they are never at one. */
        boolean atLimit() {
            return limit >= 0 && !superuser && current >= limit;
        }

        /** 80% or more of the limit in use. */
        boolean nearLimit() {
            return limit > 0 && !superuser && !atLimit() && current * 5 >= limit * 4;
        }

        String marker() {
            if (atLimit()) {
                return "AT LIMIT";
            }
            if (nearLimit()) {
                return "near";
            }
            return superuser && limit >= 0 ? "superuser: limit not enforced" : "";
        }
    }

    static final class SessionRow {
        final String user;
        final String database;
        final String backendType;
        final int pid;
        final String state;
        final String clientAddress;
        final Integer clientPort;
        final String applicationName;
        final Long idleMillis;

        SessionRow(String user, String database, String backendType, int pid, String state, String clientAddress,
                Integer clientPort, String applicationName, Long idleMillis) {
            this.user = user;
            this.database = database;
            this.backendType = backendType;
            this.pid = pid;
            this.state = state;
            this.clientAddress = clientAddress;
            this.clientPort = clientPort;
            this.applicationName = applicationName;
            this.idleMillis = idleMillis;
        }
    }
}
