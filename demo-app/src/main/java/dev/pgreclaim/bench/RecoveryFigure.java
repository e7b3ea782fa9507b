package dev.pgreclaim.bench;

import dev.pgreclaim.testkit.TestDatabase;
import dev.pgreclaim.testkit.TestDatabase.Seed;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Figure 2, recovery latency: see {@link RecoveryApp}. */
final class RecoveryFigure {
    private static final Pattern RECOVERED =
            Pattern.compile("recovered in \\d+ ms after terminating .* \\((\\d+) retries\\)");
    private static final long IDLE_MILLIS = 40;
    private static final long FIRST_WARM_MILLIS = 3000;

    private RecoveryFigure() {
    }

    /** The first few failed rounds, as the child reported them: a figure with failures must say why. */
    private static String failureLines(String stderr) {
        StringBuilder lines = new StringBuilder();
        stderr.lines().filter(line -> line.startsWith("reclaim round failed")).limit(3)
                .forEach(line -> lines.append("\n    ").append(line));
        return lines.length() == 0 ? "" : "\nFailed rounds (first three):\n" + lines + "\n";
    }

    /** What one warm recovery JVM measured, and whether its timed set counts (see {@link #measure}). */
    private record Measured(Stats plain, Stats recovered, Stats naive, Stats refused, Stats floor, long[] failures,
            long survived, long terminations, Map<Integer, Integer> retries, boolean valid, String why,
            String stderr) {
        double p50() {
            return valid ? recovered.median() : Double.NaN;
        }

        /** (recovered p50 - floor p50) / floor p50: what the reclaim itself adds to the two logins. */
        double share() {
            return (p50() - floor.median()) / floor.median();
        }
    }

    static String run(BenchContext context) throws Exception {
        int rounds = context.quick ? 10 : 200;
        int warmup = context.quick ? 2 : 10;
        boolean withAgent = context.selected("recovery");
        Measured agent = withAgent ? measure(context, false, rounds, warmup) : null;
        Measured wrapper = context.selected("recovery-wrapper") ? measure(context, true, rounds, warmup) : null;
        Table table = new Table("", "rounds", "p50", "p99", "max", "failed", "target");
        StringBuilder text = new StringBuilder("## 2. Recovery latency\n\n");
        if (agent != null) {
            addAgentRows(context, table, agent, rounds);
            text.append("One warm JVM with the agent; per round a fresh session of the role (limit 1) sits idle on the"
                    + " only slot for " + IDLE_MILLIS + " ms (min-idle 20ms), then the timed open. " + rounds
                    + " rounds after " + warmup + " untimed; the three measurements rotate order each round. A failed"
                    + " round makes every target of the agent's rows MISSED.");
        }
        if (wrapper != null) {
            addWrapperRows(context, table, wrapper);
            text.append(agent != null ? " Then" : "").append(" one warm JVM with the wrapper driver instead (no"
                    + " `-javaagent`; every URL `jdbc:pgreclaim:postgresql://`, the same policy as system properties),"
                    + " the same " + rounds + " rounds after " + warmup + " untimed, with its own floor; its rows hold"
                    + " the agent rows' targets.");
        }
        text.append("\n\n").append(table.render()).append('\n');
        if (agent != null) {
            text.append("Recovered / plain (p50): ")
                    .append(String.format(Locale.ROOT, "%.2fx", agent.recovered().median() / agent.plain().median()))
                    .append("; naive / recovered (p50): ")
                    .append(String.format(Locale.ROOT, "%.1fx", agent.naive().median() / agent.recovered().median()))
                    .append(". Agent terminations (MBean): ").append(agent.terminations())
                    .append("; holders that survived a recovered round: ").append(agent.survived())
                    .append(". Retries after the termination, per recovered open (from the agent's log): ")
                    .append(agent.retries()).append(".\n").append(failureLines(agent.stderr()));
        }
        if (wrapper != null) {
            text.append(agent != null ? "\n" : "").append("Wrapper driver: recovered / plain (p50): ")
                    .append(String.format(Locale.ROOT, "%.2fx",
                            wrapper.recovered().median() / wrapper.plain().median()));
            if (agent != null) {
                text.append("; wrapper / agent (recovered p50): ").append(String.format(Locale.ROOT, "%.2fx",
                        wrapper.recovered().median() / agent.recovered().median()))
                        .append("; wrapper / agent (floor p50): ").append(String.format(Locale.ROOT, "%.2fx",
                                wrapper.floor().median() / agent.floor().median()));
            }
            text.append(". Wrapper terminations (MBean): ").append(wrapper.terminations())
                    .append("; holders that survived a recovered round: ").append(wrapper.survived())
                    .append(". Retries after the termination, per recovered open (from the wrapper's log): ")
                    .append(wrapper.retries()).append(".\n").append(failureLines(wrapper.stderr()));
        }
        if (agent != null) {
            text.append("\n").append(firstReclaim(context));
        }
        return text.toString();
    }

    private static void addAgentRows(BenchContext context, Table table, Measured agent, int rounds) {
        String why = agent.why();
        double p50 = agent.p50();
        double p99 = agent.recovered().percentile(99);
        context.recoveredP50 = p50;
        double share = agent.share();
        Stats plain = agent.plain();
        Stats refused = agent.refused();
        Stats floor = agent.floor();
        Stats naive = agent.naive();
        table.row("plain connect, slot free (reference)", plain.count(), Stats.ms(plain.median()),
                Stats.ms(plain.percentile(99)), Stats.ms(plain.max()), 0, "");
        table.row("refused open alone (a full login: the limit is checked after authentication)", refused.count(),
                Stats.ms(refused.median()), Stats.ms(refused.percentile(99)), Stats.ms(refused.max()), 0, "");
        table.row("floor: refused open + plain open, same round (two logins, no reclaim)", floor.count(),
                Stats.ms(floor.median()), Stats.ms(floor.percentile(99)), Stats.ms(floor.max()), 0, "");
        table.row("pg-reclaim: refused, reclaimed, retried", agent.recovered().count(),
                Stats.ms(agent.recovered().median()), Stats.ms(p99), Stats.ms(agent.recovered().max()),
                agent.failures()[0],
                context.verdict("recovery p50", agent.valid() && p50 <= 10e6, "p50 <= 10 ms" + why) + ", "
                        + context.verdict("recovery p99", agent.valid() && p99 <= 30e6, "p99 <= 30 ms" + why) + ", "
                        + context.verdict("recovery vs plain", agent.valid() && p50 <= 3 * plain.median(),
                                "<= 3x plain" + why));
        table.row("the agent's own share: (recovered p50 - floor p50) / floor p50", agent.recovered().count(),
                Stats.ms(p50 - floor.median()), "", "", "", context.verdict("agent's own share of a recovery",
                        agent.valid() && share <= 0.10, (Double.isNaN(share) ? "none"
                                : String.format(Locale.ROOT, "%.1f %%", share * 100)) + " <= 10 % of the floor" + why));
        table.row("naive: refused, terminate with a 5 s wait for the exit, reconnect", naive.count(),
                Stats.ms(naive.median()), Stats.ms(naive.percentile(99)), Stats.ms(naive.max()),
                agent.failures()[1], "");
    }

    /** The wrapper JVM's reference, floor and recovery, with the agent rows' targets under its own figure name. */
    private static void addWrapperRows(BenchContext context, Table table, Measured wrapper) {
        String figure = "recovery-wrapper";
        String why = wrapper.why();
        double p50 = wrapper.p50();
        double p99 = wrapper.recovered().percentile(99);
        double share = wrapper.share();
        Stats plain = wrapper.plain();
        Stats floor = wrapper.floor();
        table.row("wrapper JVM: plain connect, slot free (reference)", plain.count(), Stats.ms(plain.median()),
                Stats.ms(plain.percentile(99)), Stats.ms(plain.max()), 0, "");
        table.row("wrapper JVM: floor, refused open + plain open (two logins, no reclaim)", floor.count(),
                Stats.ms(floor.median()), Stats.ms(floor.percentile(99)), Stats.ms(floor.max()), 0, "");
        table.row("pg-reclaim wrapper driver: refused, reclaimed, retried", wrapper.recovered().count(),
                Stats.ms(wrapper.recovered().median()), Stats.ms(p99), Stats.ms(wrapper.recovered().max()),
                wrapper.failures()[0],
                context.verdict(figure, "wrapper recovery p50", wrapper.valid() && p50 <= 10e6, "p50 <= 10 ms" + why)
                        + ", " + context.verdict(figure, "wrapper recovery p99", wrapper.valid() && p99 <= 30e6,
                                "p99 <= 30 ms" + why)
                        + ", " + context.verdict(figure, "wrapper recovery vs plain",
                                wrapper.valid() && p50 <= 3 * plain.median(), "<= 3x plain" + why));
        table.row("the wrapper's own share: (recovered p50 - floor p50) / floor p50", wrapper.recovered().count(),
                Stats.ms(p50 - floor.median()), "", "", "", context.verdict(figure,
                        "wrapper's own share of a recovery", wrapper.valid() && share <= 0.10,
                        (Double.isNaN(share) ? "none" : String.format(Locale.ROOT, "%.1f %%", share * 100))
                                + " <= 10 % of the floor" + why));
    }

    /**
     * One warm JVM running {@link RecoveryApp}: with the agent, or with the wrapper driver on its class path and
     * wrapper URLs (no agent). The same policy either way.
     */
    private static Measured measure(BenchContext context, boolean wrapper, int rounds, int warmup) throws Exception {
        Child.Result result;
        Seed seed = TestDatabase.seed(context.server, 1);
        Seed naiveSeed = TestDatabase.seed(context.server, 1);
        Progress progress = Progress.of(context, wrapper ? "one warm JVM with the wrapper driver" : "one warm JVM",
                warmup + rounds, "rounds");
        try {
            String[] policy = {"pgreclaim.min-idle=20ms", "pgreclaim.budget=100000/1m",
                "pgreclaim.protect.users=" + naiveSeed.role()};
            String main = RecoveryApp.class.getName();
            String[] args = {String.valueOf(rounds), String.valueOf(warmup), String.valueOf(IDLE_MILLIS)};
            Child child = wrapper
                    ? context.child(context.java(), context.wrapperClasspath(), context.wrapperFlags(seed, policy),
                            main, args)
                    : context.child(context.java(), context.agentFlags(seed, policy), main, args);
            result = child
                    .env("PGRECLAIM_ADMIN_PASSWORD", seed.adminPassword())
                    .env("BENCH_URL_A", wrapper ? BenchContext.wrapperUrl(seed.url()) : seed.url())
                    .env("BENCH_ROLE_A", seed.role())
                    .env("BENCH_PW_A", seed.rolePassword())
                    .env("BENCH_URL_N", wrapper ? BenchContext.wrapperUrl(naiveSeed.url()) : naiveSeed.url())
                    .env("BENCH_ROLE_N", naiveSeed.role())
                    .env("BENCH_PW_N", naiveSeed.rolePassword())
                    .env("BENCH_ADMIN_N", naiveSeed.admin()).env("BENCH_ADMIN_PW_N", naiveSeed.adminPassword())
                    .timeoutSeconds(900).onProgress(progress::set)
                    .run().requireSuccess(wrapper ? "recovery rounds with the wrapper driver" : "recovery rounds");
        } finally {
            seed.drop();
            naiveSeed.drop();
        }
        Stats recovered = new Stats(Stats.parseTagged(result.stdout(), "AGENT_NS"));
        long[] failures = Stats.parseTagged(result.stdout(), "FAILURES");
        long survived = Stats.parseTagged(result.stdout(), "HOLDER_SURVIVED")[0];
        Map<Integer, Integer> retries = new TreeMap<>();
        Matcher matcher = RECOVERED.matcher(result.stderr());
        while (matcher.find()) {
            retries.merge(Integer.parseInt(matcher.group(1)), 1, Integer::sum);
        }
        String who = wrapper ? "wrapper" : "agent";
        boolean active = wrapper ? BenchContext.wrapperActive(result) : BenchContext.agentActive(result);
        // Any failed round, or a holder that outlived its round (someone else was terminated), and the timed set
        // says nothing: every target of the row reads MISSED, whatever the times of the rounds that did recover.
        boolean valid = failures[0] == 0 && survived == 0 && recovered.count() == rounds && active;
        String why = valid ? "" : " (" + (failures[0] > 0 ? failures[0] + " of " + (warmup + rounds)
                + " rounds failed" : survived > 0 ? survived + " holders survived" : active
                        ? recovered.count() + " of " + rounds + " rounds timed" : who + " not active") + ")";
        return new Measured(new Stats(Stats.parseTagged(result.stdout(), "PLAIN_NS")), recovered,
                new Stats(Stats.parseTagged(result.stdout(), "NAIVE_NS")),
                new Stats(Stats.parseTagged(result.stdout(), "REFUSED_NS")),
                new Stats(Stats.parseTagged(result.stdout(), "FLOOR_NS")), failures, survived,
                Stats.parseTagged(result.stdout(), "TERMINATIONS")[0], retries, valid, why, result.stderr());
    }

    /** The first reclaim of a JVM whose own connect-and-query path is warm: see {@link FirstReclaimApp}. */
    private static String firstReclaim(BenchContext context) throws Exception {
        int jvms = context.quick ? 2 : 11;
        int warmOpens = context.quick ? 20 : 300;
        List<Long> first = new ArrayList<>();
        List<Long> second = new ArrayList<>();
        List<Long> firstCpu = new ArrayList<>();
        List<Long> secondCpu = new ArrayList<>();
        int failed = 0;
        int inactive = 0;
        int wrongTerminations = 0;
        int touchedEarly = 0;
        String classes;
        Seed seed = TestDatabase.seed(context.server, 1);
        Progress progress = Progress.of(context, "first reclaim of a warm JVM", jvms + 1, "JVMs");
        try {
            for (int i = 0; i < jvms; i++) {
                Child.Result result = firstReclaimJvm(context, seed, warmOpens, List.of());
                long firstNs = Stats.parseTagged(result.stdout(), "FIRST_NS")[0];
                long secondNs = Stats.parseTagged(result.stdout(), "SECOND_NS")[0];
                firstCpu.add(Stats.parseTagged(result.stdout(), "FIRST_CPU_NS")[0]);
                secondCpu.add(Stats.parseTagged(result.stdout(), "SECOND_CPU_NS")[0]);
                failed += (firstNs < 0 ? 1 : 0) + (secondNs < 0 ? 1 : 0);
                inactive += BenchContext.agentActive(result) ? 0 : 1;
                wrongTerminations += StormFigure.auditedPids(result.stderr()).size() == 2 ? 0 : 1;
                touchedEarly += Stats.parseTagged(result.stdout(), "SLOT_WAITS")[0] > 0 ? 1 : 0;
                if (firstNs >= 0) {
                    first.add(firstNs);
                }
                if (secondNs >= 0) {
                    second.add(secondNs);
                }
                progress.step();
            }
            classes = classesLoaded(context, seed, warmOpens);
            progress.step();
        } finally {
            seed.drop();
        }
        Stats firsts = Stats.of(first);
        Stats seconds = Stats.of(second);
        boolean valid = failed == 0 && inactive == 0 && wrongTerminations == 0;
        String why = valid ? "" : " (" + failed + " reclaims failed, agent inactive in " + inactive + " JVMs, "
                + wrongTerminations + " JVMs without exactly 2 audited terminations)";
        double limit = 1.5 * context.recoveredP50;
        Table table = new Table("", "JVMs", "median", "min", "max", "caller's CPU (median)", "target");
        table.row("first reclaim of the JVM", first.size(), Stats.ms(firsts.median()), Stats.ms(firsts.percentile(0)),
                Stats.ms(firsts.max()), Stats.ms(Stats.of(firstCpu).median()),
                context.verdict("first reclaim of a warm JVM, median",
                        valid && firsts.median() <= limit, "<= 1.5x the recovered p50 above (" + Stats.ms(limit) + ")"
                                + why));
        table.row("second reclaim of the JVM", second.size(), Stats.ms(seconds.median()),
                Stats.ms(seconds.percentile(0)), Stats.ms(seconds.max()), Stats.ms(Stats.of(secondCpu).median()), "");
        return "### First reclaim of a JVM\n\n" + jvms + " forked JVMs with the agent (default policy but min-idle"
                + " 20ms), each after " + warmOpens + " opens with one prepared query and at least "
                + FIRST_WARM_MILLIS + " ms (so the agent's background start-up work is done): the refused open that"
                + " is the JVM's first reclaim (admin login included), then one more. The caller's CPU is the CPU time"
                + " of the thread that opened, during the open (the rest of the wall time is the server, the network"
                + " and other threads)."
                + (touchedEarly == 0 ? "" : " In " + touchedEarly + " JVM(s) an untimed open was refused while the"
                        + " role's just-closed session was still exiting (waited out and retried), so the reclaim path"
                        + " had run once before the first timed reclaim.")
                + "\n\n" + table.render() + "\n"
                + classes;
    }

    private static Child.Result firstReclaimJvm(BenchContext context, Seed seed, int warmOpens, List<String> extra) {
        List<String> flags = new ArrayList<>(context.agentFlags(seed, "pgreclaim.min-idle=20ms"));
        flags.addAll(extra);
        return context.child(context.java(), flags, FirstReclaimApp.class.getName(),
                String.valueOf(warmOpens), String.valueOf(FIRST_WARM_MILLIS), String.valueOf(IDLE_MILLIS))
                .env("PGRECLAIM_ADMIN_PASSWORD", seed.adminPassword())
                .env("BENCH_URL_A", seed.url()).env("BENCH_ROLE_A", seed.role())
                .env("BENCH_PW_A", seed.rolePassword())
                .timeoutSeconds(120)
                .run().requireSuccess("first reclaim");
    }

    /** One more such JVM with {@code -Xlog:class+load}: the classes each reclaim loads, between the app's markers. */
    private static String classesLoaded(BenchContext context, Seed seed, int warmOpens) throws Exception {
        Path log = Files.createTempFile("pgreclaim-bench-first", ".log");
        try {
            firstReclaimJvm(context, seed, warmOpens, List.of("-Xlog:class+load=info:file=" + log));
            Map<String, int[]> counts = new LinkedHashMap<>();
            counts.put("first", new int[4]);
            counts.put("second", new int[4]);
            String phase = null;
            for (String line : Files.readAllLines(log)) {
                if (line.contains("FirstReclaimApp$FirstStarts ")) {
                    phase = "first";
                } else if (line.contains("FirstReclaimApp$FirstEnded ")) {
                    phase = "second";
                } else if (line.contains("FirstReclaimApp$SecondEnded ")) {
                    phase = null;
                } else if (phase != null && line.contains("source:")) {
                    int[] c = counts.get(phase);
                    c[0]++;
                    c[line.contains(" dev.pgreclaim.") ? 1 : line.contains(" org.postgresql.") ? 2 : 3]++;
                }
            }
            int[] f = counts.get("first");
            int[] s = counts.get("second");
            return "Classes loaded during the reclaim (one more JVM, `-Xlog:class+load`, between markers the program"
                    + " loads just before and after each timed open): first " + f[0] + " (pg-reclaim " + f[1]
                    + ", pgjdbc " + f[2] + ", JDK and other " + f[3] + "), second " + s[0] + ".\n";
        } finally {
            Files.deleteIfExists(log);
        }
    }
}
