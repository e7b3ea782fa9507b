package dev.pgreclaim.bench;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.postgresql.PGConnection;

/**
 * Child program of the recovery-latency figure, started with the agent, or with the wrapper driver on its class path
 * and wrapper URLs ({@code jdbc:pgreclaim:postgresql://}) in the environment; "the agent" below is whichever of the
 * two is there. Two roles, each with connection limit 1:
 * role A is the agent's; role N is listed in {@code pgreclaim.protect.users}, so the agent leaves its refusals alone
 * and the naive approach can be measured in the same warm JVM. Every round runs three measurements in rotating order:
 * <ul>
 *   <li>plain: role A's slot is free, time one open;</li>
 *   <li>agent: a fresh connection of role A, opened by this program, sits idle on the only slot for longer than
 *       {@code min-idle}; time the open that is refused, reclaimed by the agent and retried;</li>
 *   <li>naive: the same with role N, recovered by hand: the refused open, then
 *       {@code pg_terminate_backend(pid, 5000)} of the longest-idle session on a warm admin connection, then a
 *       second open.</li>
 * </ul>
 * The naive measurement also times its refused open alone ({@code REFUSED_NS}); that plus the same round's plain
 * open ({@code FLOOR_NS}, rounds that have both) is the floor of any reclaim-and-retry, two logins with nothing in
 * between, since PostgreSQL checks the role's limit only after authentication.
 * Args: {@code rounds warmupRounds idleMillis}. Env: {@code BENCH_URL_A, BENCH_ROLE_A, BENCH_PW_A, BENCH_URL_N,
 * BENCH_ROLE_N, BENCH_PW_N, BENCH_ADMIN_N, BENCH_ADMIN_PW_N}. Prints {@code PROGRESS n} after each round, then
 * {@code PLAIN_NS}, {@code AGENT_NS}, {@code NAIVE_NS}, {@code REFUSED_NS}, {@code FLOOR_NS}, {@code FAILURES},
 * {@code HOLDER_SURVIVED}, {@code TERMINATIONS}, {@code DRIVER} (the class of the driver that served role A's
 * URL).
 */
public final class RecoveryApp {
    private static final String NAIVE_TERMINATE = "select pg_catalog.pg_terminate_backend(pid, 5000)"
            + " from pg_catalog.pg_stat_activity where pid = (select pid from pg_catalog.pg_stat_activity"
            + " where usename = ? and state = 'idle' and pid <> pg_catalog.pg_backend_pid()"
            + " order by state_change limit 1)";

    private final String urlA = System.getenv("BENCH_URL_A");
    private final String roleA = System.getenv("BENCH_ROLE_A");
    private final Properties loginA = login(roleA, System.getenv("BENCH_PW_A"));
    private final String urlN = System.getenv("BENCH_URL_N");
    private final String roleN = System.getenv("BENCH_ROLE_N");
    private final Properties loginN = login(roleN, System.getenv("BENCH_PW_N"));
    private final long idleMillis;
    private Connection admin;
    private PreparedStatement roleSessions;
    private PreparedStatement pidAlive;
    private PreparedStatement naiveTerminate;
    private int agentFailures;
    private int naiveFailures;
    private int holderSurvived;

    private RecoveryApp(long idleMillis) {
        this.idleMillis = idleMillis;
    }

    public static void main(String[] args) throws Exception {
        int rounds = Integer.parseInt(args[0]);
        int warmup = Integer.parseInt(args[1]);
        RecoveryApp app = new RecoveryApp(Long.parseLong(args[2]));
        app.admin = DriverManager.getConnection(System.getenv("BENCH_URL_N"),
                login(System.getenv("BENCH_ADMIN_N"), System.getenv("BENCH_ADMIN_PW_N")));
        app.roleSessions = app.admin.prepareStatement("select count(*) from pg_stat_activity where usename = ?");
        app.pidAlive = app.admin.prepareStatement("select count(*) from pg_stat_activity where pid = ?");
        app.naiveTerminate = app.admin.prepareStatement(NAIVE_TERMINATE);
        List<Long> plain = new ArrayList<>();
        List<Long> agent = new ArrayList<>();
        List<Long> naive = new ArrayList<>();
        List<Long> refused = new ArrayList<>();
        List<Long> floor = new ArrayList<>();
        for (int round = 0; round < warmup + rounds; round++) {
            boolean record = round >= warmup;
            int plainBefore = plain.size();
            int refusedBefore = refused.size();
            for (int step = 0; step < 3; step++) {
                switch ((round + step) % 3) {
                    case 0 -> app.plain(record ? plain : new ArrayList<>());
                    case 1 -> app.agent(record ? agent : new ArrayList<>());
                    default -> app.naive(record ? naive : new ArrayList<>(), record ? refused : new ArrayList<>());
                }
            }
            if (plain.size() > plainBefore && refused.size() > refusedBefore) {
                floor.add(plain.get(plainBefore) + refused.get(refusedBefore));
            }
            System.out.println("PROGRESS " + (round + 1));
        }
        System.out.println("PLAIN_NS" + Stats.joined(plain));
        System.out.println("AGENT_NS" + Stats.joined(agent));
        System.out.println("NAIVE_NS" + Stats.joined(naive));
        System.out.println("REFUSED_NS" + Stats.joined(refused));
        System.out.println("FLOOR_NS" + Stats.joined(floor));
        System.out.println("FAILURES " + app.agentFailures + " " + app.naiveFailures);
        System.out.println("HOLDER_SURVIVED " + app.holderSurvived);
        System.out.println("TERMINATIONS " + AgentMBean.terminations(app.urlA.startsWith("jdbc:pgreclaim:")
                ? AgentMBean.WRAPPER : AgentMBean.AGENT));
        System.out.println(BenchContext.DRIVER_TAG + " " + DriverManager.getDriver(app.urlA).getClass().getName());
        app.admin.close();
    }

    private void plain(List<Long> samples) throws Exception {
        awaitNoSessions(roleA);
        long start = System.nanoTime();
        Connection connection = DriverManager.getConnection(urlA, loginA);
        samples.add(System.nanoTime() - start);
        connection.close();
    }

    private void agent(List<Long> samples) throws Exception {
        Connection holder = idleHolder(urlA, roleA, loginA);
        int holderPid = backendPid(holder);
        long start = System.nanoTime();
        Connection connection;
        try {
            connection = DriverManager.getConnection(urlA, loginA);
        } catch (SQLException refused) {
            agentFailures++;
            System.err.println("reclaim round failed: " + refused + " " + List.of(refused.getSuppressed()));
            holder.close();
            return;
        }
        samples.add(System.nanoTime() - start);
        if (alive(holderPid)) {
            holderSurvived++;
        }
        connection.close();
        closeQuietly(holder);
    }

    private void naive(List<Long> samples, List<Long> refusedSamples) throws Exception {
        Connection holder = idleHolder(urlN, roleN, loginN);
        long start = System.nanoTime();
        Connection connection = null;
        try {
            connection = DriverManager.getConnection(urlN, loginN);
            // the slot was free after all: no recovery to measure
            naiveFailures++;
        } catch (SQLException refused) {
            if (!"53300".equals(refused.getSQLState())) {
                throw refused;
            }
            refusedSamples.add(System.nanoTime() - start);
            naiveTerminate.setString(1, roleN);
            try (ResultSet rows = naiveTerminate.executeQuery()) {
                rows.next();
            }
            try {
                connection = DriverManager.getConnection(urlN, loginN);
                samples.add(System.nanoTime() - start);
            } catch (SQLException refusedAgain) {
                naiveFailures++;
            }
        }
        if (connection != null) {
            connection.close();
        }
        closeQuietly(holder);
    }

    /** A connection of the role that is the role's only session, idle for longer than min-idle. */
    private Connection idleHolder(String url, String role, Properties login) throws Exception {
        awaitNoSessions(role);
        Connection holder = DriverManager.getConnection(url, login);
        Thread.sleep(idleMillis);
        return holder;
    }

    /** A closed or terminated backend counts against the role until it has exited. */
    private void awaitNoSessions(String role) throws Exception {
        roleSessions.setString(1, role);
        for (int i = 0; i < 5000; i++) {
            try (ResultSet rows = roleSessions.executeQuery()) {
                rows.next();
                if (rows.getInt(1) == 0) {
                    return;
                }
            }
            Thread.sleep(1);
        }
        throw new IllegalStateException("sessions of " + role + " did not go away");
    }

    private boolean alive(int pid) throws SQLException {
        pidAlive.setInt(1, pid);
        try (ResultSet rows = pidAlive.executeQuery()) {
            rows.next();
            return rows.getInt(1) > 0;
        }
    }

    /** Without a query: a query would move the holder's state_change and make it look freshly idle. */
    private static int backendPid(Connection connection) throws SQLException {
        return connection.unwrap(PGConnection.class).getBackendPID();
    }

    private static void closeQuietly(Connection connection) {
        try {
            connection.close();
        } catch (SQLException ignored) {
            // terminated
        }
    }

    private static Properties login(String user, String password) {
        Properties properties = new Properties();
        properties.setProperty("user", user);
        properties.setProperty("password", password);
        return properties;
    }
}
