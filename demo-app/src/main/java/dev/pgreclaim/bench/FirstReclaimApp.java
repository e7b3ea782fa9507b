package dev.pgreclaim.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Properties;

/**
 * Child program of the first-reclaim figure, started with the agent: the case an on-call engineer meets, an
 * application that has been opening connections and running queries for a while and is refused for the first time.
 * It warms its own connect-and-query path ({@code warmOpens} opens, each with one prepared query, and at least
 * {@code minWarmMillis}, so the agent's background start-up work is done), then a fresh session of the role
 * (limit 1) sits idle on the only slot and the next open is timed: the JVM's first reclaim. One more round is
 * timed the same way. Env: {@code BENCH_URL_A, BENCH_ROLE_A, BENCH_PW_A}. Prints {@code FIRST_NS} and
 * {@code SECOND_NS} (-1 for a reclaim that failed), and {@code FIRST_CPU_NS}, {@code SECOND_CPU_NS}: the CPU time of
 * the calling thread during each (the agent's reclaim runs on it, except the admin login's worker thread).
 */
public final class FirstReclaimApp {
    /** Loaded before the warm-up, so its classes are not in the timed window. */
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    private FirstReclaimApp() {
    }

    public static void main(String[] args) throws Exception {
        int warmOpens = Integer.parseInt(args[0]);
        long minWarmMillis = Long.parseLong(args[1]);
        long idleMillis = Long.parseLong(args[2]);
        String url = System.getenv("BENCH_URL_A");
        Properties login = new Properties();
        login.setProperty("user", System.getenv("BENCH_ROLE_A"));
        login.setProperty("password", System.getenv("BENCH_PW_A"));
        long warmUntil = System.nanoTime() + minWarmMillis * 1_000_000L;
        for (int i = 0; i < warmOpens || System.nanoTime() < warmUntil; i++) {
            try (Connection connection = openWhenSlotFree(url, login);
                    PreparedStatement query = connection.prepareStatement("select ?::int + 1, now()")) {
                query.setInt(1, i);
                try (ResultSet rows = query.executeQuery()) {
                    rows.next();
                }
            }
        }
        long[] first = new long[2];
        long[] second = new long[2];
        Class.forName(FirstReclaimApp.class.getName() + "$FirstStarts");
        timedRecovery(url, login, idleMillis, first);
        Class.forName(FirstReclaimApp.class.getName() + "$FirstEnded");
        timedRecovery(url, login, idleMillis, second);
        Class.forName(FirstReclaimApp.class.getName() + "$SecondEnded");
        System.out.println("SLOT_WAITS " + slotWaits);
        System.out.println("FIRST_NS " + first[0]);
        System.out.println("SECOND_NS " + second[0]);
        System.out.println("FIRST_CPU_NS " + first[1]);
        System.out.println("SECOND_CPU_NS " + second[1]);
    }

    /** Opens refused because a just-closed session of the role was still exiting, each retried. */
    private static int slotWaits;

    /**
     * An untimed open of the role (limit 1) right after its previous session was closed: a backend leaves
     * pg_stat_activity before it frees its slot, so under load the next login can still be refused (the agent then
     * finds no victim and hands the 53300 back). Such a refusal is waited out (bounded) and counted, and the parent
     * reports the count: those JVMs touched the reclaim path before their first timed reclaim.
     */
    private static Connection openWhenSlotFree(String url, Properties login) throws SQLException,
            InterruptedException {
        long until = System.nanoTime() + 10_000_000_000L;
        while (true) {
            try {
                return DriverManager.getConnection(url, login);
            } catch (SQLException refused) {
                if (!"53300".equals(refused.getSQLState()) || System.nanoTime() > until) {
                    throw refused;
                }
                slotWaits++;
                Thread.sleep(20);
            }
        }
    }

    /**
     * Wall time and the calling thread's CPU time of one recovered open into {@code result}; -1 when the open
     * failed: a failed reclaim is reported as such, never as a time.
     */
    private static void timedRecovery(String url, Properties login, long idleMillis, long[] result)
            throws Exception {
        Thread.sleep(100); // the previous round's sessions have exited
        Connection holder = openWhenSlotFree(url, login);
        Thread.sleep(idleMillis);
        long cpuStart = THREADS.getCurrentThreadCpuTime();
        long start = System.nanoTime();
        Connection connection;
        try {
            connection = DriverManager.getConnection(url, login);
        } catch (SQLException refused) {
            System.err.println("reclaim failed: " + refused + " " + java.util.List.of(refused.getSuppressed()));
            holder.close();
            result[0] = -1;
            result[1] = -1;
            return;
        }
        result[0] = System.nanoTime() - start;
        result[1] = THREADS.getCurrentThreadCpuTime() - cpuStart;
        connection.close();
        try {
            holder.close();
        } catch (SQLException terminated) {
            // the agent ended it
        }
    }

    /**
     * Markers in a {@code -Xlog:class+load} log: loaded just before the first timed reclaim (outside the timed
     * window) and just after it, and after the second, so the classes the reclaims load can be counted.
     */
    static final class FirstStarts {
    }

    static final class FirstEnded {
    }

    static final class SecondEnded {
    }
}
