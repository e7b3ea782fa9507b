package dev.pgreclaim.bench;

import dev.pgreclaim.testkit.IdleHolder;
import dev.pgreclaim.testkit.TestDatabase;
import dev.pgreclaim.testkit.TestDatabase.Seed;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Figure 5, surge: several warm application JVMs of one role ({@link SurgeApp}, agent attached with
 * {@code -javaagent}) are refused at the same moment, while every slot of the role is held by an idle session of
 * another process ({@link IdleHolder}s), as many holders as surge JVMs. The moment is a barrier: each JVM blocks on a
 * socket to the bench, which writes {@code GO} to all of them at once. Each JVM times its refused open to its
 * connection. The first round is the first reclaim of every JVM; later rounds repeat it with fresh holders.
 */
final class SurgeFigure {
    /**
     * Well above the surge itself: a surge JVM that has its connection keeps it idle until every JVM has answered,
     * and must not become a victim of a later one (on a loaded machine a surge took 3 s with a 2 s setting).
     */
    private static final long MIN_IDLE_MILLIS = 5000;
    private static final long WARM_MILLIS = 3000;
    private static final int ANSWER_TIMEOUT_MILLIS = 60_000;

    private SurgeFigure() {
    }

    /** One surge JVM: its process and its end of the barrier socket. */
    private record Jvm(Socket socket, BufferedReader in, PrintWriter out) {
    }

    static String run(BenchContext context) throws Exception {
        int jvms = context.quick ? 3 : 8;
        int rounds = context.quick ? 1 : 3;
        int warmOpens = context.quick ? 20 : 300;
        List<Jvm> surge = new ArrayList<>();
        List<Child.Running> started = new ArrayList<>();
        List<String> rows = new ArrayList<>();
        Table table = new Table("round", "JVMs", "connected", "failed", "p50", "max", "terminated backends",
                "target");
        try (Seed seed = TestDatabase.seed(context.server, jvms);
                Seed floorSeed = TestDatabase.seed(context.server, jvms);
                ServerSocket barrier = new ServerSocket(0, jvms, InetAddress.getLoopbackAddress())) {
            Progress warming = Progress.of(context, "warming the surge JVMs", jvms, "JVMs ready");
            for (int i = 0; i < jvms; i++) {
                started.add(context.child(context.java(),
                        context.agentFlags(seed, "pgreclaim.min-idle=" + MIN_IDLE_MILLIS + "ms",
                                "pgreclaim.protect.users=" + floorSeed.role()),
                        SurgeApp.class.getName(), String.valueOf(barrier.getLocalPort()), String.valueOf(warmOpens),
                        String.valueOf(WARM_MILLIS))
                        .env("PGRECLAIM_ADMIN_PASSWORD", seed.adminPassword())
                        .env("BENCH_URL", seed.url()).env("BENCH_ROLE", seed.role())
                        .env("BENCH_PW", seed.rolePassword())
                        .env("BENCH_URL_N", floorSeed.url()).env("BENCH_ROLE_N", floorSeed.role())
                        .env("BENCH_PW_N", floorSeed.rolePassword())
                        .timeoutSeconds(600).start());
            }
            barrier.setSoTimeout(120_000);
            for (int i = 0; i < jvms; i++) {
                Socket socket = barrier.accept();
                socket.setTcpNoDelay(true);
                socket.setSoTimeout(ANSWER_TIMEOUT_MILLIS + 120_000);
                Jvm jvm = new Jvm(socket, new BufferedReader(new InputStreamReader(socket.getInputStream(),
                        StandardCharsets.UTF_8)), new PrintWriter(socket.getOutputStream(), true,
                        StandardCharsets.UTF_8));
                surge.add(jvm);
            }
            for (Jvm jvm : surge) {
                expect(jvm, "READY");
                warming.step();
                jvm.socket().setSoTimeout(ANSWER_TIMEOUT_MILLIS);
            }
            Progress progress = Progress.of(context, "surges", rounds, "rounds");
            List<Double> roundMaxima = new ArrayList<>();
            int[] auditedSoFar = new int[jvms];
            for (int round = 1; round <= rounds; round++) {
                List<IdleHolder> holders = StormFigure.startHolders(seed, jvms);
                Set<Integer> victims = new TreeSet<>();
                List<Long> times = new ArrayList<>();
                int failed = 0;
                List<Integer> terminated = new ArrayList<>();
                try {
                    for (IdleHolder holder : holders) {
                        victims.add(holder.backendPid());
                    }
                    Thread.sleep(MIN_IDLE_MILLIS + 300);
                    // the barrier: every surge JVM is blocked reading its socket; all get the line at once
                    for (Jvm jvm : surge) {
                        jvm.out().println("GO");
                    }
                    for (Jvm jvm : surge) {
                        String line = jvm.in().readLine();
                        if (line == null) {
                            throw new IllegalStateException("a surge JVM ended during surge " + round);
                        }
                        String[] answer = line.split(" ");
                        if (answer[0].equals("OPENED")) {
                            times.add(Long.parseLong(answer[1]));
                        } else {
                            failed++;
                        }
                    }
                    // the audit line is written before the retry that got the connection, so it is there by now
                    for (int i = 0; i < jvms; i++) {
                        List<Integer> all = StormFigure.auditedPids(started.get(i).stderrSoFar());
                        terminated.addAll(all.subList(auditedSoFar[i], all.size()));
                        auditedSoFar[i] = all.size();
                    }
                    closeAll(surge);
                } finally {
                    closeHolders(holders);
                }
                awaitNoSessions(context, seed.role());
                Stats stats = Stats.of(times);
                boolean exactSet = terminated.size() == jvms && new TreeSet<>(terminated).equals(victims);
                String terminatedCell = terminated.size() + (exactSet ? " = the " + jvms + " victims"
                        : " " + terminated + " vs victims " + victims);
                String target;
                if (round == 1) {
                    double limit = 4 * context.recoveredP50;
                    target = context.verdict("surge: first reclaim of " + jvms + " JVMs at once, max",
                            failed == 0 && stats.max() <= limit, "max <= 4x the recovered p50 of figure 2 ("
                                    + Stats.ms(limit) + ")" + (failed == 0 ? "" : " (" + failed + " failed)"))
                            + ", " + context.verdict("surge: terminations of the first surge", exactSet,
                                    "exactly " + jvms + " terminations, the victims' set");
                } else {
                    target = context.verdict("surge: terminations of surge " + round, exactSet && failed == 0,
                            "exactly " + jvms + " terminations, the victims' set, none failed");
                }
                table.row(round == 1 ? "1 (each JVM's first reclaim)" : String.valueOf(round), jvms, times.size(),
                        failed, Stats.ms(stats.median()), Stats.ms(stats.max()), terminatedCell, target);
                roundMaxima.add(stats.max());
                progress.step();
            }
            // last, so that round 1 stays each JVM's first refusal as well as its first reclaim
            Stats floor = floorRound(context, seed, floorSeed, surge, table);
            List<String> overFloor = new ArrayList<>();
            for (int round = 1; round <= roundMaxima.size() && floor.count() > 0; round++) {
                overFloor.add(String.format(java.util.Locale.ROOT, "round %d %.2fx", round,
                        roundMaxima.get(round - 1) / floor.max()));
            }
            for (Jvm jvm : surge) {
                jvm.out().println("EXIT");
            }
            int active = 0;
            for (Child.Running process : started) {
                Child.Result result = process.await().requireSuccess("surge JVM");
                active += BenchContext.agentActive(result) ? 1 : 0;
                String failures = result.stderr().lines().filter(l -> l.startsWith("surge open failed"))
                        .findFirst().orElse("");
                if (!failures.isEmpty()) {
                    rows.add("    " + failures);
                }
            }
            String activeLine = "The agent's activation line was seen in " + active + " of " + jvms
                    + " surge JVMs" + (active == jvms ? "" : " -> " + context.verdict("surge: agent active in every"
                            + " JVM", false, "agent active in every surge JVM")) + ".";
            return "## 5. Surge\n\n" + jvms + " warm JVMs with the agent (each after " + warmOpens + " opens with one"
                    + " prepared query and at least " + WARM_MILLIS + " ms, min-idle " + MIN_IDLE_MILLIS + "ms), one"
                    + " role with connection limit " + jvms + " whose every slot is held by an idle session of another"
                    + " JVM (" + jvms + " holders, idle > min-idle). At a barrier (one socket line to all), every"
                    + " surge JVM opens a connection at the same moment; each open is refused, reclaimed and retried,"
                    + " and is timed from the call to the connection. Each JVM keeps its connection until all have"
                    + " answered. Round 1 is the first reclaim of every JVM; each later round has fresh holders."
                    + " Terminated backends are the audit lines' pids, compared as a set with the holders'. The floor"
                    + " row, run last with the same JVMs and barrier, is what the surge costs without any reclaim:"
                    + " each JVM's open of a second role whose " + jvms + " slots are all held and which the policy"
                    + " protects (a refusal the agent leaves alone: one full login), then a plain open of the role"
                    + " (the second login), timed as the sum; two logins in each of " + jvms + " JVMs at once on the"
                    + " same cores.\n\n"
                    + table.render() + "\n"
                    + (overFloor.isEmpty() ? "" : "Surge max over the floor's max: " + String.join(", ", overFloor)
                            + ".\n\n")
                    + activeLine + "\n"
                    + (rows.isEmpty() ? "" : "Failed opens (first of each JVM):\n" + String.join("\n", rows) + "\n");
        } finally {
            for (Jvm jvm : surge) {
                try {
                    jvm.socket().close();
                } catch (IOException ignored) {
                    // the child exits on end of stream
                }
            }
            for (Child.Running process : started) {
                if (process.isAlive()) {
                    process.kill();
                }
            }
        }
    }

    /**
     * The floor round: every surge JVM, at the barrier, has an open refused by the protected role (full, its slots
     * held) and then opens the role, whose slots are free; the sum of the two is its floor. Adds the table's row.
     */
    private static Stats floorRound(BenchContext context, Seed seed, Seed floorSeed, List<Jvm> surge, Table table)
            throws Exception {
        int jvms = surge.size();
        List<Long> sums = new ArrayList<>();
        int failed = 0;
        List<IdleHolder> holders = StormFigure.startHolders(floorSeed, jvms);
        try {
            for (Jvm jvm : surge) {
                jvm.out().println("FLOOR");
            }
            for (Jvm jvm : surge) {
                String line = jvm.in().readLine();
                if (line == null) {
                    throw new IllegalStateException("a surge JVM ended during the floor round");
                }
                String[] answer = line.split(" ");
                if (answer[0].equals("FLOOR")) {
                    sums.add(Long.parseLong(answer[1]) + Long.parseLong(answer[2]));
                } else {
                    failed++;
                }
            }
            closeAll(surge);
        } finally {
            closeHolders(holders);
        }
        awaitNoSessions(context, seed.role());
        awaitNoSessions(context, floorSeed.role());
        Stats stats = Stats.of(sums);
        table.row("floor: refused + plain open in every JVM at once, no reclaim", jvms, sums.size(), failed,
                Stats.ms(stats.median()), Stats.ms(stats.max()), "none",
                failed == 0 ? "" : context.verdict("surge: floor round", false, "every floor open as expected"));
        return stats;
    }

    /** Every surge JVM closes the connection it kept. */
    private static void closeAll(List<Jvm> surge) throws IOException {
        for (Jvm jvm : surge) {
            jvm.out().println("CLOSE");
        }
        for (Jvm jvm : surge) {
            expect(jvm, "CLOSED");
        }
    }

    private static void closeHolders(List<IdleHolder> holders) {
        for (IdleHolder holder : holders) {
            holder.close();
        }
    }

    private static void expect(Jvm jvm, String expected) throws IOException {
        String line = jvm.in().readLine();
        if (!expected.equals(line)) {
            throw new IllegalStateException("surge JVM said " + line + ", expected " + expected);
        }
    }

    /** Closed and terminated backends count against the role until they have exited. */
    private static void awaitNoSessions(BenchContext context, String role) throws Exception {
        try (Connection connection = context.server.connectAsSuperuser("postgres");
                PreparedStatement count = connection.prepareStatement(
                        "select count(*) from pg_stat_activity where usename = ?")) {
            count.setString(1, role);
            for (int i = 0; i < 5000; i++) {
                try (ResultSet rows = count.executeQuery()) {
                    rows.next();
                    if (rows.getInt(1) == 0) {
                        return;
                    }
                }
                Thread.sleep(2);
            }
        }
        throw new IllegalStateException("sessions of " + role + " did not go away");
    }
}
