package dev.pgreclaim.bench;

import java.sql.Array;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Child program of the storm figure, started with the agent. {@code threads} threads open a connection as the role,
 * run a short statement, close, and start over, for {@code seconds}; a refused open surfaces as an exception here,
 * is counted with the time it surfaced, and the thread pauses 5 ms before the next open (what a pool would do).
 * A monitor thread polls pg_stat_activity for the idle holders' backends (args) to tell when the last one is gone.
 * Args: {@code threads seconds holderPid,holderPid,... agent|none} (without the agent no MBean is read). Env:
 * {@code BENCH_URL, BENCH_ROLE, BENCH_PW, BENCH_ADMIN, BENCH_ADMIN_PW}. Prints {@code OPEN_NS} (successful opens),
 * {@code OPEN_END_NS} (when each ended, relative to the start), {@code ERROR_NS} (how long each failed open
 * took), {@code ERROR_END_NS}, {@code VICTIMS_GONE_NS},
 * {@code TERMINATIONS} and {@code ERROR_STATES}.
 */
public final class StormApp {
    private StormApp() {
    }

    public static void main(String[] args) throws Exception {
        int threads = Integer.parseInt(args[0]);
        long durationNanos = Long.parseLong(args[1]) * 1_000_000_000L;
        String[] pidTexts = args[2].split(",");
        Integer[] holderPids = new Integer[pidTexts.length];
        for (int i = 0; i < pidTexts.length; i++) {
            holderPids[i] = Integer.valueOf(pidTexts[i]);
        }
        String url = System.getenv("BENCH_URL");
        Properties login = new Properties();
        login.setProperty("user", System.getenv("BENCH_ROLE"));
        login.setProperty("password", System.getenv("BENCH_PW"));
        Properties adminLogin = new Properties();
        adminLogin.setProperty("user", System.getenv("BENCH_ADMIN"));
        adminLogin.setProperty("password", System.getenv("BENCH_ADMIN_PW"));

        Connection monitor = DriverManager.getConnection(url, adminLogin);
        Array pids = monitor.createArrayOf("int4", holderPids);
        PreparedStatement holdersLeft = monitor.prepareStatement(
                "select count(*) from pg_stat_activity where pid = any(?)");
        holdersLeft.setArray(1, pids);

        long start = System.nanoTime();
        long end = start + durationNanos;
        AtomicLong victimsGone = new AtomicLong(-1);
        List<long[]> opens = new ArrayList<>();
        List<long[]> errors = new ArrayList<>();
        List<String> errorStates = new ArrayList<>();
        CountDownLatch done = new CountDownLatch(threads);
        for (int t = 0; t < threads; t++) {
            Thread worker = new Thread(() -> {
                try {
                    while (System.nanoTime() < end) {
                        long openStart = System.nanoTime();
                        try (Connection connection = DriverManager.getConnection(url, login);
                                Statement statement = connection.createStatement()) {
                            long opened = System.nanoTime();
                            synchronized (opens) {
                                opens.add(new long[] {opened - openStart, opened - start});
                            }
                            statement.execute("select pg_sleep(0.005)");
                        } catch (SQLException refused) {
                            long failed = System.nanoTime();
                            synchronized (errors) {
                                errors.add(new long[] {failed - openStart, failed - start});
                                errorStates.add(refused.getSQLState());
                            }
                            try {
                                Thread.sleep(5);
                            } catch (InterruptedException interrupted) {
                                return;
                            }
                        }
                    }
                } finally {
                    done.countDown();
                }
            }, "storm-" + t);
            worker.start();
        }
        long secondsReported = 0;
        while (done.getCount() > 0) {
            long secondsDone = (System.nanoTime() - start) / 1_000_000_000L;
            if (secondsDone > secondsReported) {
                secondsReported = secondsDone;
                System.out.println("PROGRESS " + secondsDone);
            }
            if (victimsGone.get() < 0) {
                try (ResultSet rows = holdersLeft.executeQuery()) {
                    rows.next();
                    if (rows.getInt(1) == 0) {
                        victimsGone.set(System.nanoTime() - start);
                    }
                }
            }
            Thread.sleep(2);
        }
        monitor.close();
        print("OPEN_NS", opens, 0);
        print("OPEN_END_NS", opens, 1);
        print("ERROR_NS", errors, 0);
        print("ERROR_END_NS", errors, 1);
        System.out.println("VICTIMS_GONE_NS " + victimsGone.get());
        System.out.println("TERMINATIONS " + (args[3].equals("agent") ? AgentMBean.terminations() : 0));
        System.out.println("ERROR_STATES " + String.join(",", new java.util.TreeSet<>(errorStates)));
    }

    private static void print(String tag, List<long[]> rows, int column) {
        StringBuilder line = new StringBuilder(tag);
        for (long[] row : rows) {
            line.append(' ').append(row[column]);
        }
        System.out.println(line);
    }
}
