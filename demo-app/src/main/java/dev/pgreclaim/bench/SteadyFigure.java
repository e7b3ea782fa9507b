package dev.pgreclaim.bench;

import dev.pgreclaim.testkit.TestDatabase;
import dev.pgreclaim.testkit.TestDatabase.Seed;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Figure 1, steady connect overhead: the same program ({@link ConnectLoopApp}) opens and closes connections in
 * forked JVMs, alternately without and with the agent (terminate mode, configured as in production). No open is
 * refused, so this is what the agent costs when nothing goes wrong.
 */
final class SteadyFigure {
    private SteadyFigure() {
    }

    static String run(BenchContext context) throws Exception {
        int pairs = context.quick ? 2 : 20;
        int perJvm = context.quick ? 50 : 250;
        int warmup = context.quick ? 20 : 100;
        List<Long> without = new ArrayList<>();
        List<Long> with = new ArrayList<>();
        List<Double> pairRatios = new ArrayList<>();
        int agentJvms = 0;
        int activeJvms = 0;
        Progress progress = Progress.of(context, "", pairs, "JVM pairs");
        try (Seed seed = TestDatabase.seed(context.server, -1)) {
            for (int pair = 0; pair < pairs; pair++) {
                double[] medians = new double[2];
                for (int step = 0; step < 2; step++) {
                    boolean agent = (pair + step) % 2 == 1;
                    List<String> flags = agent ? context.agentFlags(seed) : List.of();
                    Child.Result result = context.child(context.java(), flags, ConnectLoopApp.class.getName(),
                            seed.url(), seed.role(), String.valueOf(warmup), String.valueOf(perJvm))
                            .env("BENCH_PASSWORD", seed.rolePassword())
                            .env("PGRECLAIM_ADMIN_PASSWORD", seed.adminPassword())
                            .run().requireSuccess("connect loop");
                    if (agent) {
                        agentJvms++;
                        activeJvms += BenchContext.agentActive(result) ? 1 : 0;
                    }
                    long[] samples = Stats.parseTagged(result.stdout(), "SAMPLES_NS");
                    for (long sample : samples) {
                        (agent ? with : without).add(sample);
                    }
                    medians[agent ? 1 : 0] = new Stats(samples).median();
                }
                pairRatios.add(medians[1] / medians[0]);
                progress.step();
            }
        }
        Stats none = Stats.of(without);
        Stats agent = Stats.of(with);
        double ratio = agent.median() / none.median();
        double[] sortedRatios = pairRatios.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        double medianPairRatio = sortedRatios.length % 2 == 1 ? sortedRatios[sortedRatios.length / 2]
                : (sortedRatios[sortedRatios.length / 2 - 1] + sortedRatios[sortedRatios.length / 2]) / 2;
        Table table = new Table("", "opens", "median", "p90", "p99", "ratio (agent / none)", "target");
        table.row("no agent", none.count(), Stats.ms(none.median()), Stats.ms(none.percentile(90)),
                Stats.ms(none.percentile(99)), "", "");
        table.row("pg-reclaim agent", agent.count(), Stats.ms(agent.median()), Stats.ms(agent.percentile(90)),
                Stats.ms(agent.percentile(99)), String.format(Locale.ROOT, "%.3f", ratio),
                context.verdict("steady connect overhead, ratio agent / none",
                        ratio <= 1.01 && activeJvms == agentJvms,
                        "<= 1.01" + (activeJvms == agentJvms ? "" : " (agent inactive in "
                                + (agentJvms - activeJvms) + " JVMs)")));
        return "## 1. Steady connect overhead\n\n"
                + "Open + close of one scram connection over loopback, no open refused; " + pairs
                + " pairs of forked JVMs, alternating which goes first, " + perJvm + " timed opens each after "
                + warmup + " untimed.\n\n" + table.render() + "\nMedian of the per-pair ratios: "
                + String.format(Locale.ROOT, "%.3f", medianPairRatio) + " (range "
                + String.format(Locale.ROOT, "%.3f-%.3f", sortedRatios[0], sortedRatios[sortedRatios.length - 1])
                + "). The agent's activation line (`" + BenchContext.ACTIVE_LINE + "`) was seen in " + activeJvms
                + " of " + agentJvms + " JVMs with the agent.\n";
    }
}
