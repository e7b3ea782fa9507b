package dev.pgreclaim.cli;

import dev.pgreclaim.policy.Durations;
import dev.pgreclaim.policy.Policy;
import dev.pgreclaim.policy.Setting;
import dev.pgreclaim.policy.VictimRules;
import dev.pgreclaim.reclaim.AdminCheck;
import dev.pgreclaim.reclaim.AuditLine;
import dev.pgreclaim.reclaim.KillGuards;
import dev.pgreclaim.reclaim.NoVictim;
import dev.pgreclaim.reclaim.ReclaimLock;
import dev.pgreclaim.reclaim.SqlStates;
import dev.pgreclaim.reclaim.Victim;
import dev.pgreclaim.reclaim.VictimQuery;
import dev.pgreclaim.reclaim.VictimScope;
import java.io.PrintStream;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * {@code reclaim}: the agent's reclaim, by hand. Victims are chosen by the agent's own {@link VictimQuery} with the
 * agent's own {@link VictimRules} (parsed by the agent's parser from the options), one select-and-terminate
 * statement per session, under the agent's cross-JVM {@link ReclaimLock}, so a running agent and the CLI never
 * signal the same session twice.
 */
final class ReclaimCommand {
    static final String NAME = "reclaim";
    private static final String ROLE = "--role";
    private static final String COUNT = "--count";
    private static final String DATABASE = "--database";
    private static final String DRY_RUN = "--dry-run";
    private static final int MAX_COUNT = 1000;
    private static final long LOCK_TIMEOUT_MILLIS = 5000;
    /** How long to wait for each victim to leave pg_stat_activity, so its slot is really free on exit. */
    private static final long EXIT_WAIT_MILLIS = 2000;

    private ReclaimCommand() {
    }

    static String help() {
        return "Usage: java -jar pg-reclaim-agent.jar reclaim --role R [--count N] [--min-idle D] [--database DB]\n"
                + "                                         [--dry-run] --url URL --user USER\n"
                + "\n"
                + "Terminates the longest-idle eligible sessions of role R with exactly the agent's victim rules:\n"
                + "only 'idle' client backends of R, idle at least --min-idle, never superusers, never sessions\n"
                + "holding an advisory lock, never LISTEN sessions, never pg-reclaim's own admin sessions, never\n"
                + "sessions matching a protect pattern, never a session already signalled (still exiting). Each\n"
                + "session is re-checked by the statement that terminates it. Prints one audit line per\n"
                + "terminated session, in the agent's format.\n"
                + "\n"
                + "Options:\n"
                + AdminLogin.connectionHelp()
                + "  --role R               the role whose sessions are reclaimed (required)\n"
                + "  --count N              terminate up to N sessions, 1 to " + MAX_COUNT + " (default: 1)\n"
                + "  --database DB          only sessions in database DB\n"
                + "  --dry-run              name the would-be victims, terminate nothing\n"
                + AdminLogin.victimRuleHelp()
                + "  --help                 this text\n"
                + "\n"
                + "Exit codes: 0 terminated (or, with --dry-run, would terminate) at least one session;\n"
                + "1 no eligible session (the reason is printed); 2 usage, connection or privilege error\n"
                + "(the missing GRANT is named).\n";
    }

    static int run(List<String> argv, PrintStream out, PrintStream err, Map<String, String> environment)
            throws CliException {
        Set<String> valued = AdminLogin.connectionOptions();
        valued.addAll(Arrays.asList(ROLE, COUNT, DATABASE));
        valued.addAll(AdminLogin.victimRuleOptions());
        Set<String> flags = new LinkedHashSet<String>(Arrays.asList(DRY_RUN));
        Args args = Args.parse(NAME, argv, valued, flags);
        if (!args.positionals().isEmpty()) {
            throw CliException.usage("unexpected argument '" + args.positionals().get(0) + "' ("
                    + Cli.seeHelp(NAME) + ")");
        }
        String role = args.require(NAME, ROLE);
        int count = args.intValue(COUNT, 1, 1, MAX_COUNT);
        String database = args.get(DATABASE);
        boolean dryRun = args.flag(DRY_RUN);
        String url = AdminLogin.checkedUrl(args, NAME);
        String user = args.require(NAME, AdminLogin.USER);
        Policy policy = AdminLogin.policy(args, environment);
        VictimRules rules = policy.victimRules();
        VictimScope scope = database == null ? VictimScope.role(role) : VictimScope.roleInDatabase(role, database);

        if (rules.protectsUser(role)) {
            err.println("pg-reclaim: nothing to reclaim: role " + role + " matches "
                    + AdminLogin.optionName(Setting.PROTECT_USERS) + " (its sessions are never terminated)");
            return ExitCode.NOTHING_TO_RECLAIM;
        }

        NestedDriver driver = NestedDriver.load();
        try {
            Connection connection = AdminLogin.open(driver, url, user, policy.adminPassword());
            try {
                requireRole(connection, role);
                String privileges = AdminCheck.report(connection);
                if (privileges.contains("MISSING")) {
                    err.println("pg-reclaim: warning: " + privileges);
                }
                return dryRun ? dryRun(connection, out, err, scope, rules, count, user)
                        : terminate(connection, out, err, scope, rules, count, user);
            } catch (SQLException failure) {
                throw explain(failure, user, role);
            } finally {
                AdminLogin.closeQuietly(connection);
            }
        } finally {
            driver.close();
        }
    }

    private static void requireRole(Connection connection, String role) throws SQLException, CliException {
        PreparedStatement statement = connection.prepareStatement("select 1 from pg_catalog.pg_roles r"
                + " where r.rolname OPERATOR(pg_catalog.=) cast(? as pg_catalog.text)");
        try {
            statement.setString(1, role);
            ResultSet rows = statement.executeQuery();
            boolean exists = rows.next();
            rows.close();
            if (!exists) {
                throw CliException.usage("there is no role " + role + " on this server");
            }
        } finally {
            statement.close();
        }
    }

    private static int dryRun(Connection connection, PrintStream out, PrintStream err, VictimScope scope,
            VictimRules rules, int count, String user) throws SQLException, CliException {
        List<Victim> victims = VictimQuery.candidates(connection, scope, rules, KillGuards.NONE, count);
        for (Victim victim : victims) {
            out.println("pg-reclaim DRY-RUN would terminate " + victim.describe());
        }
        if (victims.isEmpty()) {
            return nothingToReclaim(connection, err, scope, rules, KillGuards.NONE, user);
        }
        err.println("pg-reclaim: dry run: " + victims.size() + " session(s) would be terminated, none was");
        return ExitCode.DONE;
    }

    private static int terminate(Connection connection, PrintStream out, PrintStream err, VictimScope scope,
            VictimRules rules, int count, String user) throws SQLException, CliException {
        String reason = "manual reclaim by " + System.getProperty("user.name", "unknown") + " via CLI;"
                + " longest-idle eligible session (min-idle " + Durations.format(rules.minIdleMillis()) + ")";
        ReclaimLock.acquire(connection, scope.role(), LOCK_TIMEOUT_MILLIS);
        int terminated = 0;
        // Every pid signalled in this run is excluded from the next statement: one that outlasts the exit wait
        // (many temporary tables to drop) still shows 'idle', and must not be reported twice.
        KillGuards guards = KillGuards.NONE;
        try {
            for (int i = 0; i < count; i++) {
                Victim victim = VictimQuery.terminateOne(connection, scope, rules, guards);
                if (victim == null) {
                    break;
                }
                guards = guards.excluding(victim.pid());
                if (!victim.terminated()) {
                    err.println("pg-reclaim: pid " + victim.pid() + " exited by itself before the signal");
                    continue;
                }
                terminated++;
                out.println(AuditLine.line(AuditLine.fields(victim, reason) + " count=" + terminated + "/" + count));
                out.flush();
                VictimQuery.awaitExit(connection, victim.pid(),
                        System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(EXIT_WAIT_MILLIS));
            }
        } finally {
            try {
                ReclaimLock.release(connection, scope.role());
            } catch (SQLException unlockFailure) {
                // the connection is closed next, which releases the lock too; keep the first failure
            }
        }
        if (terminated == 0) {
            return nothingToReclaim(connection, err, scope, rules, guards, user);
        }
        if (terminated < count) {
            err.println("pg-reclaim: terminated " + terminated + " of " + count
                    + " requested: no further session was eligible");
        }
        return ExitCode.DONE;
    }

    /** Why nothing was eligible; state hidden from the admin role is a privilege error, not an empty role. */
    private static int nothingToReclaim(Connection connection, PrintStream err, VictimScope scope, VictimRules rules,
            KillGuards guards, String user) throws SQLException, CliException {
        NoVictim why = VictimQuery.whyNone(connection, scope, rules, guards);
        if (why.reason() == NoVictim.Reason.STATE_HIDDEN) {
            throw new CliException(ExitCode.ERROR, "the admin role " + user + " sees no state for " + why.hidden()
                    + " session(s) of role " + scope.role() + " (state hidden), so no session can be judged idle;"
                    + " GRANT pg_read_all_stats TO " + user);
        }
        err.println("pg-reclaim: nothing to reclaim: " + why.describe());
        return ExitCode.NOTHING_TO_RECLAIM;
    }

    private static CliException explain(SQLException failure, String user, String role) {
        String state = failure.getSQLState();
        if (SqlStates.INSUFFICIENT_PRIVILEGE.equals(state)) {
            return new CliException(ExitCode.ERROR, "the admin role " + user + " may not terminate sessions of role "
                    + role + " (SQLState 42501: " + failure.getMessage() + "); GRANT pg_signal_backend TO " + user,
                    failure);
        }
        if (SqlStates.LOCK_NOT_AVAILABLE.equals(state)) {
            return new CliException(ExitCode.ERROR, "another reclaim for role " + role + " (an agent or another CLI)"
                    + " held the reclaim lock for more than " + Durations.format(LOCK_TIMEOUT_MILLIS)
                    + "; try again", failure);
        }
        return new CliException(ExitCode.ERROR, "reclaim failed: " + failure.getMessage()
                + (state == null ? "" : " (SQLState " + state + ")"), failure);
    }
}
