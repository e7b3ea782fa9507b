package dev.pgreclaim.bench;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Properties;
import org.postgresql.PGConnection;

/**
 * Child program of the surge figure, started with the agent; several run at once. It warms its own connect-and-query
 * path as {@link FirstReclaimApp} does, then says {@code READY} on a socket to the bench and blocks on it. Each
 * {@code GO} line is the barrier: every surge JVM reads it at the same moment and times one open of the role (whose
 * slots are all held by idle sessions of other processes) from the call to the connection, then answers
 * {@code OPENED <ns> <backend pid>} or {@code FAILED <ns> <SQLState>} and keeps the connection (so a slot it got does
 * not go to another surge JVM) until {@code CLOSE}, answered by {@code CLOSED}. {@code EXIT} ends it.
 * {@code FLOOR} is the same barrier for the floor round, with no reclaim: one open of role N (whose slots are all held,
 * and which the agent's policy protects, so the agent leaves its refusal alone) that must be refused, then one open
 * of the role (whose slots are free then), kept until {@code CLOSE}; answered {@code FLOOR <refused ns> <open ns>}, or
 * {@code FAILED <ns> <what>} when the first open was not refused ({@code not-refused}) or the second failed.
 * Args: {@code port warmOpens minWarmMillis}. Env: {@code BENCH_URL, BENCH_ROLE, BENCH_PW} and role N's
 * {@code BENCH_URL_N, BENCH_ROLE_N, BENCH_PW_N}.
 */
public final class SurgeApp {
    private SurgeApp() {
    }

    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        int warmOpens = Integer.parseInt(args[1]);
        long minWarmMillis = Long.parseLong(args[2]);
        String url = System.getenv("BENCH_URL");
        Properties login = new Properties();
        login.setProperty("user", System.getenv("BENCH_ROLE"));
        login.setProperty("password", System.getenv("BENCH_PW"));
        String urlN = System.getenv("BENCH_URL_N");
        Properties loginN = new Properties();
        loginN.setProperty("user", System.getenv("BENCH_ROLE_N"));
        loginN.setProperty("password", System.getenv("BENCH_PW_N"));
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port);
                BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(),
                        StandardCharsets.UTF_8));
                PrintWriter out = new PrintWriter(socket.getOutputStream(), true, StandardCharsets.UTF_8)) {
            socket.setTcpNoDelay(true);
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
            out.println("READY");
            Connection held = null;
            for (String line = in.readLine(); line != null && !line.equals("EXIT"); line = in.readLine()) {
                if (line.equals("GO")) {
                    long start = System.nanoTime();
                    try {
                        held = DriverManager.getConnection(url, login);
                        long elapsed = System.nanoTime() - start;
                        out.println("OPENED " + elapsed + " " + held.unwrap(PGConnection.class).getBackendPID());
                    } catch (SQLException refused) {
                        long elapsed = System.nanoTime() - start;
                        System.err.println("surge open failed: " + refused + " "
                                + java.util.List.of(refused.getSuppressed()));
                        out.println("FAILED " + elapsed + " " + refused.getSQLState());
                    }
                } else if (line.equals("FLOOR")) {
                    long start = System.nanoTime();
                    long refusedNanos;
                    try (Connection notRefused = DriverManager.getConnection(urlN, loginN)) {
                        out.println("FAILED " + (System.nanoTime() - start) + " not-refused");
                        continue;
                    } catch (SQLException refused) {
                        refusedNanos = System.nanoTime() - start;
                        if (!"53300".equals(refused.getSQLState())) {
                            out.println("FAILED " + refusedNanos + " " + refused.getSQLState());
                            continue;
                        }
                    }
                    long second = System.nanoTime();
                    try {
                        held = DriverManager.getConnection(url, login);
                        out.println("FLOOR " + refusedNanos + " " + (System.nanoTime() - second));
                    } catch (SQLException failed) {
                        System.err.println("surge floor open failed: " + failed);
                        out.println("FAILED " + (System.nanoTime() - second) + " " + failed.getSQLState());
                    }
                } else if (line.equals("CLOSE")) {
                    if (held != null) {
                        held.close();
                        held = null;
                    }
                    out.println("CLOSED");
                }
            }
            if (held != null) {
                held.close();
            }
        }
    }
}
