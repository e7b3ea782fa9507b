package dev.pgreclaim.bench;

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
 * {@code SECOND_NS} (-1 for a reclaim that failed).
 */
public final class FirstReclaimApp {
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
            try (Connection connection = DriverManager.getConnection(url, login);
                    PreparedStatement query = connection.prepareStatement("select ?::int + 1, now()")) {
                query.setInt(1, i);
                try (ResultSet rows = query.executeQuery()) {
                    rows.next();
                }
            }
        }
        Class.forName(FirstReclaimApp.class.getName() + "$FirstStarts");
        long first = timedRecovery(url, login, idleMillis);
        Class.forName(FirstReclaimApp.class.getName() + "$FirstEnded");
        long second = timedRecovery(url, login, idleMillis);
        Class.forName(FirstReclaimApp.class.getName() + "$SecondEnded");
        System.out.println("FIRST_NS " + first);
        System.out.println("SECOND_NS " + second);
    }

    /** -1 when the open failed: a failed reclaim is reported as such, never as a time. */
    private static long timedRecovery(String url, Properties login, long idleMillis) throws Exception {
        Thread.sleep(100); // the previous round's sessions have exited
        Connection holder = DriverManager.getConnection(url, login);
        Thread.sleep(idleMillis);
        long start = System.nanoTime();
        Connection connection;
        try {
            connection = DriverManager.getConnection(url, login);
        } catch (SQLException refused) {
            System.err.println("reclaim failed: " + refused + " " + java.util.List.of(refused.getSuppressed()));
            holder.close();
            return -1;
        }
        long elapsed = System.nanoTime() - start;
        connection.close();
        try {
            holder.close();
        } catch (SQLException terminated) {
            // the agent ended it
        }
        return elapsed;
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
