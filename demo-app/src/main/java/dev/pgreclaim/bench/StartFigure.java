package dev.pgreclaim.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Figure 3, JVM start: {@link StartApp} without JDBC, with {@code org.postgresql.Driver} loaded, and living past the
 * agent's background start-up work, each without an agent, with an empty agent and with this agent, on every Java
 * given; runs interleaved (the variant order rotates), wall time from fork to exit, peak RSS and CPU time from
 * {@code /usr/bin/time}.
 */
final class StartFigure {
    enum Variant { NONE("no agent"), EMPTY("empty agent"), AGENT("pg-reclaim agent");
        final String label;

        Variant(String label) {
            this.label = label;
        }
    }

    private static final String[] PROGRAMS = {"none", "driver", "lives"};

    private StartFigure() {
    }

    static String run(BenchContext context) throws Exception {
        if (!Child.gnuTimeAvailable()) {
            // a figure that cannot be measured is reported as missed, never as passing
            return "## 3. JVM start\n\n" + context.verdict("JVM start", false, "figure measured") + ": /usr/bin/time"
                    + " (GNU time) is not installed, so peak RSS and CPU time cannot be read.\n";
        }
        int runs = context.quick ? 2 : 41;
        int livesRuns = context.quick ? 1 : 11;
        Map<String, List<Long>> wall = new LinkedHashMap<>();
        Map<String, List<Long>> rss = new LinkedHashMap<>();
        Map<String, List<Long>> cpu = new LinkedHashMap<>();
        Map<String, int[]> active = new LinkedHashMap<>();
        Variant[] variants = Variant.values();
        int total = runs * context.javas.size() * 2 * variants.length
                + livesRuns * context.javas.size() * variants.length;
        Progress progress = Progress.of(context, "", total, "JVMs");
        for (int run = 0; run < runs; run++) {
            for (Path java : context.javas) {
                for (String program : PROGRAMS) {
                    if (program.equals("lives") && run >= livesRuns) {
                        continue;
                    }
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
                        cpu.computeIfAbsent(key, k -> new ArrayList<>()).add(result.cpuMillis());
                        int[] seen = active.computeIfAbsent(key, k -> new int[2]);
                        seen[0]++;
                        seen[1] += activeAsExpected(program, variant, result) ? 1 : 0;
                        progress.step();
                    }
                }
            }
        }
        StringBuilder out = new StringBuilder("## 3. JVM start\n\n").append(runs).append(" runs per cell (")
                .append(livesRuns).append(" for the program that lives past the background work), interleaved;"
                + " medians of wall time (fork to exit, as seen by the parent), of peak RSS and of CPU time (user +"
                + " system, `/usr/bin/time -f \"%M %U %S\"`, 10 ms resolution). `StartApp none` never touches JDBC;"
                + " `StartApp driver` loads `org.postgresql.Driver` (which triggers the agent's weave) and exits;"
                + " `StartApp lives` loads it, sleeps " + StartApp.LIVE_MILLIS + " ms and joins the agent's"
                + " `pg-reclaim*` threads, so the agent's background start-up work (2 s after the driver loads:"
                + " MBean, reclaim-path classes) is inside its figures; its wall time is mostly the sleep, so its"
                + " target is on CPU time and RSS. With the agent, each run that loads the Driver must log `"
                + BenchContext.ACTIVE_LINE + "` and each `lives` run must have joined the agent's thread, else the"
                + " row is MISSED (an agent left inert by its configuration costs nothing and would meet every"
                + " target); for `none` the agent never activates, and its jar was loaded since the JVM exited 0.\n\n");
        Table table = new Table("Java", "program", "variant", "wall", "peak RSS", "CPU", "vs no agent",
                "vs empty agent", "agent active", "target");
        for (Path java : context.javas) {
            String javaName = javaLabel(java);
            for (String program : PROGRAMS) {
                double noneWall = Stats.of(wall.get(key(java, program, Variant.NONE))).median();
                double noneRss = Stats.of(rss.get(key(java, program, Variant.NONE))).median();
                double noneCpu = Stats.of(cpu.get(key(java, program, Variant.NONE))).median();
                double emptyWall = Stats.of(wall.get(key(java, program, Variant.EMPTY))).median();
                double emptyRss = Stats.of(rss.get(key(java, program, Variant.EMPTY))).median();
                double emptyCpu = Stats.of(cpu.get(key(java, program, Variant.EMPTY))).median();
                for (Variant variant : variants) {
                    String key = key(java, program, variant);
                    double w = Stats.of(wall.get(key)).median();
                    double r = Stats.of(rss.get(key)).median();
                    double c = Stats.of(cpu.get(key)).median();
                    int[] seen = active.get(key);
                    boolean allActive = seen[0] == seen[1];
                    String row = "JVM start, Java " + javaName + ", " + label(program);
                    String why = allActive ? "" : " (agent not active in " + (seen[0] - seen[1]) + " of " + seen[0]
                            + " runs)";
                    String target = "";
                    if (variant == Variant.AGENT && program.equals("none")) {
                        target = context.verdict(row, allActive && w - emptyWall <= 5e6 && r - emptyRss <= 1024,
                                "within 5 ms / 1 MiB of empty" + why);
                    } else if (variant == Variant.AGENT && program.equals("driver")) {
                        target = context.verdict(row, allActive && w - noneWall <= 100e6 && r - noneRss <= 15 * 1024,
                                "<= +100 ms / +15 MiB over none" + why);
                    } else if (variant == Variant.AGENT) {
                        target = context.verdict(row, allActive && c - noneCpu <= 100 && r - noneRss <= 15 * 1024,
                                "<= +100 ms CPU / +15 MiB over none" + why);
                    }
                    table.row(javaName, label(program), variant.label, Stats.ms(w), Stats.mib(r), cpuMs(c),
                            variant == Variant.NONE ? "" : Stats.signedMs(w - noneWall) + ", "
                                    + Stats.signedMib(r - noneRss) + ", " + signedCpu(c - noneCpu) + " CPU",
                            variant == Variant.AGENT ? Stats.signedMs(w - emptyWall) + ", "
                                    + Stats.signedMib(r - emptyRss) + ", " + signedCpu(c - emptyCpu) + " CPU" : "",
                            variant == Variant.AGENT ? seen[1] + " of " + seen[0] : "", target);
                }
            }
        }
        out.append(table.render()).append('\n');
        out.append(classCounts(context));
        return out.toString();
    }

    private static String label(String program) {
        return switch (program) {
            case "none" -> "no pgjdbc";
            case "driver" -> "loads Driver";
            default -> "loads Driver, lives " + StartApp.LIVE_MILLIS / 1000.0 + " s";
        };
    }

    /**
     * With the agent, a run that loads the Driver shows the activation line, and one that lives past the background
     * work has joined the agent's thread; runs without it, or that never load pgjdbc, have nothing to show.
     */
    private static boolean activeAsExpected(String program, Variant variant, Child.Result result) {
        if (variant != Variant.AGENT || program.equals("none")) {
            return true;
        }
        boolean joined = !program.equals("lives") || !result.stdout().contains("JOINED 0");
        return BenchContext.agentActive(result) && joined;
    }

    private static String cpuMs(double millis) {
        return Double.isNaN(millis) ? "none" : String.format(java.util.Locale.ROOT, "%.0f ms", millis);
    }

    private static String signedCpu(double millis) {
        return Double.isNaN(millis) ? "none" : String.format(java.util.Locale.ROOT, "%+.0f ms", millis);
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
                table.row(javaLabel(java), label(program), none[0], empty[0],
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
