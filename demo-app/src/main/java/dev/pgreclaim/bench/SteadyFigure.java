package dev.pgreclaim.bench;

import dev.pgreclaim.testkit.TestDatabase;
import dev.pgreclaim.testkit.TestDatabase.Seed;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Figure 1, steady connect overhead: the same program ({@link ConnectLoopApp}) opens and closes connections in
 * forked JVMs, in turn without pg-reclaim, with the agent (terminate mode, configured as in production) and with the
 * wrapper driver (the same policy, {@code jdbc:pgreclaim:} URL, no agent). No open is refused, so this is what
 * pg-reclaim costs when nothing goes wrong. The JVMs of one round run one after the other, the order rotating from
 * round to round; the agent and the wrapper are each compared with the same JVMs without either.
 */
final class SteadyFigure {
    /** What a JVM of the figure runs with; figure order is rotation order. */
    private enum Variant { NONE, AGENT, WRAPPER }

    private SteadyFigure() {
    }

    static String run(BenchContext context) throws Exception {
        List<Variant> variants = new ArrayList<>(List.of(Variant.NONE));
        if (context.selected("steady")) {
            variants.add(Variant.AGENT);
        }
        if (context.selected("steady-wrapper")) {
            variants.add(Variant.WRAPPER);
        }
        int rounds = context.quick ? 2 : 20;
        int perJvm = context.quick ? 50 : 250;
        int warmup = context.quick ? 20 : 100;
        Map<Variant, List<Long>> samples = new EnumMap<>(Variant.class);
        Map<Variant, List<Double>> roundRatios = new EnumMap<>(Variant.class);
        Map<Variant, int[]> activeOfJvms = new EnumMap<>(Variant.class);
        for (Variant variant : variants) {
            samples.put(variant, new ArrayList<>());
            roundRatios.put(variant, new ArrayList<>());
            activeOfJvms.put(variant, new int[2]);
        }
        Progress progress = Progress.of(context, "", rounds, variants.size() == 2 ? "JVM pairs" : "JVM rounds");
        try (Seed seed = TestDatabase.seed(context.server, -1)) {
            for (int round = 0; round < rounds; round++) {
                Map<Variant, Double> medians = new EnumMap<>(Variant.class);
                for (int step = 0; step < variants.size(); step++) {
                    Variant variant = variants.get((round + step) % variants.size());
                    Child.Result result = loop(context, seed, variant, warmup, perJvm);
                    int[] active = activeOfJvms.get(variant);
                    active[1]++;
                    active[0] += switch (variant) {
                        case AGENT -> BenchContext.agentActive(result) ? 1 : 0;
                        case WRAPPER -> BenchContext.wrapperActive(result) ? 1 : 0;
                        case NONE -> 1;
                    };
                    long[] jvmSamples = Stats.parseTagged(result.stdout(), "SAMPLES_NS");
                    for (long sample : jvmSamples) {
                        samples.get(variant).add(sample);
                    }
                    medians.put(variant, new Stats(jvmSamples).median());
                }
                for (Variant variant : variants) {
                    roundRatios.get(variant).add(medians.get(variant) / medians.get(Variant.NONE));
                }
                progress.step();
            }
        }
        Stats none = Stats.of(samples.get(Variant.NONE));
        Table table = new Table("", "opens", "median", "p90", "p99", "ratio (row / none)", "target");
        table.row("no agent", none.count(), Stats.ms(none.median()), Stats.ms(none.percentile(90)),
                Stats.ms(none.percentile(99)), "", "");
        StringBuilder notes = new StringBuilder();
        for (Variant variant : variants) {
            if (variant == Variant.NONE) {
                continue;
            }
            boolean agent = variant == Variant.AGENT;
            Stats stats = Stats.of(samples.get(variant));
            double ratio = stats.median() / none.median();
            int[] active = activeOfJvms.get(variant);
            String inactive = active[0] == active[1] ? "" : " (" + (agent ? "agent" : "wrapper") + " inactive in "
                    + (active[1] - active[0]) + " JVMs)";
            String target = agent
                    ? context.verdict("steady connect overhead, ratio agent / none",
                            ratio <= 1.01 && active[0] == active[1], "<= 1.01" + inactive)
                    : context.verdict("steady-wrapper", "steady connect, wrapper: ratio wrapper / none",
                            ratio <= 1.01 && active[0] == active[1], "<= 1.01" + inactive);
            table.row(agent ? "pg-reclaim agent" : "pg-reclaim wrapper driver", stats.count(),
                    Stats.ms(stats.median()), Stats.ms(stats.percentile(90)), Stats.ms(stats.percentile(99)),
                    String.format(Locale.ROOT, "%.3f", ratio), target);
            double[] sorted = roundRatios.get(variant).stream().mapToDouble(Double::doubleValue).sorted().toArray();
            double median = sorted.length % 2 == 1 ? sorted[sorted.length / 2]
                    : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
            String per = variants.size() == 2 ? "per-pair" : "per-round";
            if (agent) {
                notes.append("Median of the ").append(per).append(" ratios: ")
                        .append(String.format(Locale.ROOT, "%.3f", median)).append(" (range ")
                        .append(String.format(Locale.ROOT, "%.3f-%.3f", sorted[0], sorted[sorted.length - 1]))
                        .append("). The agent's activation line (`").append(BenchContext.ACTIVE_LINE)
                        .append("`) was seen in ").append(active[0]).append(" of ").append(active[1])
                        .append(" JVMs with the agent.\n");
            } else {
                notes.append("Wrapper driver: median of the ").append(per).append(" ratios ")
                        .append(String.format(Locale.ROOT, "%.3f", median)).append(" (range ")
                        .append(String.format(Locale.ROOT, "%.3f-%.3f", sorted[0], sorted[sorted.length - 1]))
                        .append("). The wrapper (`").append(BenchContext.WRAPPER_DRIVER)
                        .append("`, no `-javaagent`) served the URL and was active in ").append(active[0])
                        .append(" of ").append(active[1]).append(" JVMs with the wrapper.\n");
            }
        }
        String design = switch (variants.size()) {
            case 2 -> rounds + " pairs of forked JVMs, alternating which goes first";
            default -> rounds + " rounds of " + variants.size() + " forked JVMs (no agent, agent, wrapper driver with"
                    + " `jdbc:pgreclaim:postgresql://`), rotating which goes first";
        };
        return "## 1. Steady connect overhead\n\n"
                + "Open + close of one scram connection over loopback, no open refused; " + design + ", " + perJvm
                + " timed opens each after " + warmup + " untimed.\n\n" + table.render() + "\n" + notes;
    }

    private static Child.Result loop(BenchContext context, Seed seed, Variant variant, int warmup, int perJvm) {
        String main = ConnectLoopApp.class.getName();
        String[] args = {variant == Variant.WRAPPER ? BenchContext.wrapperUrl(seed.url()) : seed.url(), seed.role(),
            String.valueOf(warmup), String.valueOf(perJvm)};
        Child child = switch (variant) {
            case NONE -> context.child(context.java(), List.of(), main, args);
            case AGENT -> context.child(context.java(), context.agentFlags(seed), main, args);
            case WRAPPER -> context.child(context.java(), context.wrapperClasspath(), context.wrapperFlags(seed),
                    main, args);
        };
        return child.env("BENCH_PASSWORD", seed.rolePassword())
                .env("PGRECLAIM_ADMIN_PASSWORD", seed.adminPassword())
                .run().requireSuccess("connect loop");
    }
}
