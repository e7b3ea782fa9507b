package dev.pgreclaim.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Figure 3, JVM start: {@link StartApp} without JDBC and with {@code org.postgresql.Driver} loaded, each without an
 * agent, with an empty agent and with this agent, on every Java given; runs interleaved (the variant order rotates),
 * wall time from fork to exit and peak RSS from {@code /usr/bin/time}.
 */
final class StartFigure {
    enum Variant { NONE("no agent"), EMPTY("empty agent"), AGENT("pg-reclaim agent");
        final String label;

        Variant(String label) {
            this.label = label;
        }
    }

    private static final String[] PROGRAMS = {"none", "driver"};

    private StartFigure() {
    }

    static String run(BenchContext context) throws Exception {
        if (!Child.gnuTimeAvailable()) {
            return "## 3. JVM start\n\n"
                    + "Skipped: /usr/bin/time (GNU time) is not installed, so peak RSS cannot be read.\n";
        }
        int runs = context.quick ? 3 : 41;
        Map<String, List<Long>> wall = new LinkedHashMap<>();
        Map<String, List<Long>> rss = new LinkedHashMap<>();
        Variant[] variants = Variant.values();
        for (int run = 0; run < runs; run++) {
            for (Path java : context.javas) {
                for (String program : PROGRAMS) {
                    for (int step = 0; step < variants.length; step++) {
                        Variant variant = variants[(run + step) % variants.length];
                        Child.Result result = context.child(java, startClasspath(context), flags(context, variant),
                                StartApp.class.getName(), program).env("PGRECLAIM_ADMIN_PASSWORD", "unused")
                                .measureRss().timeoutSeconds(60)
                                .run().requireSuccess("start " + program + " " + variant);
                        if (!result.stdout().contains("ok") || result.stderr().contains("pg-reclaim: could not")) {
                            throw new IllegalStateException("unexpected start output: " + result);
                        }
                        String key = key(java, program, variant);
                        wall.computeIfAbsent(key, k -> new ArrayList<>()).add(result.wallNanos());
                        rss.computeIfAbsent(key, k -> new ArrayList<>()).add(result.peakRssKib());
                    }
                }
            }
        }
        StringBuilder out = new StringBuilder("## 3. JVM start\n\n").append(runs).append(" runs per cell,"
                + " interleaved; medians of wall time (fork to exit, as seen by the parent) and of peak RSS"
                + " (`/usr/bin/time -f %M`). `StartApp none` never touches JDBC; `StartApp driver` loads"
                + " `org.postgresql.Driver` (which triggers the agent's weave).\n\n");
        Table table = new Table("Java", "program", "variant", "wall", "peak RSS", "vs no agent", "vs empty agent",
                "target");
        for (Path java : context.javas) {
            String javaName = javaLabel(java);
            for (String program : PROGRAMS) {
                double noneWall = Stats.of(wall.get(key(java, program, Variant.NONE))).median();
                double noneRss = Stats.of(rss.get(key(java, program, Variant.NONE))).median();
                double emptyWall = Stats.of(wall.get(key(java, program, Variant.EMPTY))).median();
                double emptyRss = Stats.of(rss.get(key(java, program, Variant.EMPTY))).median();
                for (Variant variant : variants) {
                    double w = Stats.of(wall.get(key(java, program, variant))).median();
                    double r = Stats.of(rss.get(key(java, program, variant))).median();
                    String target = "";
                    if (variant == Variant.AGENT && program.equals("none")) {
                        target = SteadyFigure.verdict(w - emptyWall <= 5e6 && r - emptyRss <= 1024,
                                "within 5 ms / 1 MiB of empty");
                    } else if (variant == Variant.AGENT) {
                        target = SteadyFigure.verdict(w - noneWall <= 100e6 && r - noneRss <= 15 * 1024,
                                "<= +100 ms / +15 MiB over none");
                    }
                    table.row(javaName, program.equals("none") ? "no pgjdbc" : "loads Driver", variant.label,
                            Stats.ms(w), Stats.mib(r),
                            variant == Variant.NONE ? "" : Stats.signedMs(w - noneWall) + ", "
                                    + Stats.signedMib(r - noneRss),
                            variant == Variant.AGENT ? Stats.signedMs(w - emptyWall) + ", "
                                    + Stats.signedMib(r - emptyRss) : "",
                            target);
                }
            }
        }
        out.append(table.render()).append('\n');
        out.append(classCounts(context));
        return out.toString();
    }

    /** One extra run per Java with {@code -Xlog:class+load}: how many classes the agent makes the JVM load. */
    private static String classCounts(BenchContext context) throws Exception {
        Table table = new Table("Java", "program", "classes loaded: no agent", "empty agent", "pg-reclaim agent",
                "of them pg-reclaim", "of them Byte Buddy (shaded)");
        for (Path java : context.javas) {
            for (String program : PROGRAMS) {
                long[] none = countClasses(context, java, program, Variant.NONE);
                long[] empty = countClasses(context, java, program, Variant.EMPTY);
                long[] agent = countClasses(context, java, program, Variant.AGENT);
                table.row(javaLabel(java), program.equals("none") ? "no pgjdbc" : "loads Driver", none[0], empty[0],
                        agent[0], agent[1] - agent[2], agent[2]);
            }
        }
        return "Classes loaded (one run each with `-Xlog:class+load`):\n\n" + table.render();
    }

    private static long[] countClasses(BenchContext context, Path java, String program, Variant variant)
            throws Exception {
        Path log = Files.createTempFile("pgreclaim-bench-classload", ".log");
        try {
            List<String> flags = new ArrayList<>(flags(context, variant));
            flags.add("-Xlog:class+load=info:file=" + log);
            context.child(java, startClasspath(context), flags, StartApp.class.getName(), program)
                    .env("PGRECLAIM_ADMIN_PASSWORD", "unused").run().requireSuccess("class count");
            long all = 0;
            long ours = 0;
            long byteBuddy = 0;
            for (String line : Files.readAllLines(log)) {
                if (!line.contains("source:")) {
                    continue;
                }
                all++;
                if (line.contains(" dev.pgreclaim.shaded.")) {
                    byteBuddy++;
                }
                if (line.contains(" dev.pgreclaim.") && !line.contains(" dev.pgreclaim.bench.")) {
                    ours++;
                }
            }
            return new long[] {all, ours, byteBuddy};
        } finally {
            Files.deleteIfExists(log);
        }
    }

    /** StartApp alone in a jar, plus pgjdbc: no bench classes, so the empty agent's class comes from its jar. */
    private static String startClasspath(BenchContext context) {
        return context.startAppJar + java.io.File.pathSeparator + context.pgjdbcJar;
    }

    private static List<String> flags(BenchContext context, Variant variant) {
        List<String> flags = new ArrayList<>();
        switch (variant) {
            case EMPTY -> flags.add("-javaagent:" + context.emptyAgentJar);
            case AGENT -> flags.add("-javaagent:" + context.agentJar);
            default -> { }
        }
        // the same configuration on every variant, so only -javaagent differs
        flags.add("-Dpgreclaim.mode=terminate");
        flags.add("-Dpgreclaim.admin.user=bench_admin");
        return flags;
    }

    private static String key(Path java, String program, Variant variant) {
        return java + "|" + program + "|" + variant;
    }

    static String javaLabel(Path java) {
        return Machine.javaVersion(java);
    }
}
