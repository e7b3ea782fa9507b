package dev.pgreclaim.bench;

import dev.pgreclaim.testkit.TestDatabase;
import dev.pgreclaim.testkit.TestDatabase.Seed;
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
        stderr.lines().filter(line -> line.startsWith("agent round failed")).limit(3)
                .forEach(line -> lines.append("\n    ").append(line));
        return lines.length() == 0 ? "" : "\nFailed rounds (first three):\n" + lines + "\n";
    }

    static String run(BenchContext context) throws Exception {
        int rounds = context.quick ? 10 : 200;
        int warmup = context.quick ? 2 : 10;
        Child.Result result;
        Seed agentSeed = TestDatabase.seed(context.server, 1);
        Seed naiveSeed = TestDatabase.seed(context.server, 1);
        try {
            result = context.child(context.java(),
                    context.agentFlags(agentSeed, "pgreclaim.min-idle=20ms", "pgreclaim.budget=100000/1m",
                            "pgreclaim.protect.users=" + naiveSeed.role()),
                    RecoveryApp.class.getName(), String.valueOf(rounds), String.valueOf(warmup),
                    String.valueOf(IDLE_MILLIS))
                    .env("PGRECLAIM_ADMIN_PASSWORD", agentSeed.adminPassword())
                    .env("BENCH_URL_A", agentSeed.url()).env("BENCH_ROLE_A", agentSeed.role())
                    .env("BENCH_PW_A", agentSeed.rolePassword())
                    .env("BENCH_URL_N", naiveSeed.url()).env("BENCH_ROLE_N", naiveSeed.role())
                    .env("BENCH_PW_N", naiveSeed.rolePassword())
                    .env("BENCH_ADMIN_N", naiveSeed.admin()).env("BENCH_ADMIN_PW_N", naiveSeed.adminPassword())
                    .timeoutSeconds(900)
                    .run().requireSuccess("recovery rounds");
        } finally {
            agentSeed.drop();
            naiveSeed.drop();
        }
        Stats plain = new Stats(Stats.parseTagged(result.stdout(), "PLAIN_NS"));
        Stats agent = new Stats(Stats.parseTagged(result.stdout(), "AGENT_NS"));
        Stats naive = new Stats(Stats.parseTagged(result.stdout(), "NAIVE_NS"));
        Stats refused = new Stats(Stats.parseTagged(result.stdout(), "REFUSED_NS"));
        Stats floor = new Stats(Stats.parseTagged(result.stdout(), "FLOOR_NS"));
        long[] failures = Stats.parseTagged(result.stdout(), "FAILURES");
        long survived = Stats.parseTagged(result.stdout(), "HOLDER_SURVIVED")[0];
        long terminations = Stats.parseTagged(result.stdout(), "TERMINATIONS")[0];
        Map<Integer, Integer> retries = new TreeMap<>();
        Matcher matcher = RECOVERED.matcher(result.stderr());
        while (matcher.find()) {
            retries.merge(Integer.parseInt(matcher.group(1)), 1, Integer::sum);
        }
        double p50 = agent.median();
        long p99 = agent.percentile(99);
        Table table = new Table("", "rounds", "p50", "p99", "max", "failed", "target");
        table.row("plain connect, slot free (reference)", plain.count(), Stats.ms(plain.median()),
                Stats.ms(plain.percentile(99)), Stats.ms(plain.max()), 0, "");
        table.row("refused open alone (a full login: the limit is checked after authentication)", refused.count(),
                Stats.ms(refused.median()), Stats.ms(refused.percentile(99)), Stats.ms(refused.max()), 0, "");
        table.row("floor: refused open + plain open, same round (two logins, no reclaim)", floor.count(),
                Stats.ms(floor.median()), Stats.ms(floor.percentile(99)), Stats.ms(floor.max()), 0, "");
        table.row("pg-reclaim: refused, reclaimed, retried", agent.count(), Stats.ms(p50), Stats.ms(p99),
                Stats.ms(agent.max()), failures[0],
                SteadyFigure.verdict(p50 <= 10e6, "p50 <= 10 ms") + ", "
                        + SteadyFigure.verdict(p99 <= 30e6, "p99 <= 30 ms") + ", "
                        + SteadyFigure.verdict(p50 <= 3 * plain.median(), "<= 3x plain"));
        table.row("naive: refused, pg_terminate_backend(pid, 5000), reconnect", naive.count(),
                Stats.ms(naive.median()), Stats.ms(naive.percentile(99)), Stats.ms(naive.max()), failures[1], "");
        return "## 2. Recovery latency\n\n"
                + "One warm JVM with the agent; per round a fresh session of the role (limit 1) sits idle on the only"
                + " slot for " + IDLE_MILLIS + " ms (min-idle 20ms), then the timed open. " + rounds + " rounds after "
                + warmup + " untimed; the three measurements rotate order each round.\n\n" + table.render()
                + "\nRecovered / plain (p50): " + String.format(Locale.ROOT, "%.2fx", p50 / plain.median())
                + "; naive / recovered (p50): " + String.format(Locale.ROOT, "%.1fx", naive.median() / p50)
                + "; recovered - floor (p50), the reclaim's own share: "
                + Stats.ms(p50 - floor.median())
                + ". Agent terminations (MBean): " + terminations + "; holders that survived a recovered round: "
                + survived + ". Retries after the termination, per recovered open (from the agent's log): "
                + retries + ".\n" + failureLines(result.stderr()) + "\n" + firstReclaim(context);
    }

    /** The first reclaim of a JVM whose own connect-and-query path is warm: see {@link FirstReclaimApp}. */
    private static String firstReclaim(BenchContext context) throws Exception {
        int jvms = context.quick ? 2 : 11;
        int warmOpens = context.quick ? 20 : 300;
        long[] first = new long[jvms];
        long[] second = new long[jvms];
        Seed seed = TestDatabase.seed(context.server, 1);
        try {
            for (int i = 0; i < jvms; i++) {
                Child.Result result = context.child(context.java(),
                        context.agentFlags(seed, "pgreclaim.min-idle=20ms"), FirstReclaimApp.class.getName(),
                        String.valueOf(warmOpens), String.valueOf(FIRST_WARM_MILLIS), String.valueOf(IDLE_MILLIS))
                        .env("PGRECLAIM_ADMIN_PASSWORD", seed.adminPassword())
                        .env("BENCH_URL_A", seed.url()).env("BENCH_ROLE_A", seed.role())
                        .env("BENCH_PW_A", seed.rolePassword())
                        .timeoutSeconds(120)
                        .run().requireSuccess("first reclaim");
                first[i] = Stats.parseTagged(result.stdout(), "FIRST_NS")[0];
                second[i] = Stats.parseTagged(result.stdout(), "SECOND_NS")[0];
            }
        } finally {
            seed.drop();
        }
        Stats firsts = new Stats(first);
        Stats seconds = new Stats(second);
        Table table = new Table("", "JVMs", "median", "min", "max");
        table.row("first reclaim of the JVM", jvms, Stats.ms(firsts.median()), Stats.ms(firsts.percentile(0)),
                Stats.ms(firsts.max()));
        table.row("second reclaim of the JVM", jvms, Stats.ms(seconds.median()), Stats.ms(seconds.percentile(0)),
                Stats.ms(seconds.max()));
        return "### First reclaim of a JVM\n\n" + jvms + " forked JVMs with the agent (default policy but min-idle"
                + " 20ms), each after " + warmOpens + " opens with one prepared query and at least "
                + FIRST_WARM_MILLIS + " ms (so the agent's background start-up work is done): the refused open that"
                + " is the JVM's first reclaim (admin login included), then one more. No target; the figures above"
                + " are warm rounds.\n\n" + table.render();
    }
}
