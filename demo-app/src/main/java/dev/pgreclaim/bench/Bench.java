package dev.pgreclaim.bench;

import dev.pgreclaim.testkit.PostgresServer;
import dev.pgreclaim.testkit.PostgresServers;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The benchmark programs of pg-reclaim, in one run against a private PostgreSQL it starts itself (scram, loopback):
 * steady connect overhead, recovery latency, JVM start, storm, surge. Prints markdown tables on stdout, progress on
 * stderr, and writes the tables, with a machine description and a summary of every target, to
 * {@code target/bench/results.md}. Run with {@code --help} for the usage.
 */
public final class Bench {
    /**
     * What {@code --only=} takes. The wrapper's rows have names of their own, but they are measured inside the
     * agent's figure of the same kind (same table, same interleaving), so that both are always from one run.
     */
    static final List<String> FIGURES = List.of("steady", "steady-wrapper", "recovery", "recovery-wrapper", "start",
            "storm", "surge");
    /** The sections of the output, in order; a section runs when any of its figures is selected. */
    private static final List<String> SECTIONS = List.of("steady", "recovery", "start", "storm", "surge");

    static final String USAGE = """
            usage: java -cp "demo-app/target/classes:demo-app/target/bench-lib/*" dev.pgreclaim.bench.Bench [options]

              --quick              small counts: a smoke test of the programs, not figures
              --only=FIGURE,...    run only these figures, of: steady, steady-wrapper, recovery,
                                   recovery-wrapper, start, storm, surge (surge and the first-reclaim row
                                   compare with the recovery p50, so --only=surge runs recovery too)
              --out=FILE           the markdown results file (default target/bench/results.md)
              --agent=JAR          the agent jar (default agent/target/pg-reclaim-agent.jar)
              --jdbc=JAR           the wrapper driver jar (default jdbc/target/pg-reclaim-jdbc.jar), for the
                                   wrapper figures
              --javas=JAVA,...     the java executables of the start figure (default: this JVM's java plus
                                   /usr/lib/jvm/temurin-25* when installed)
              --help               this text

            Figures:
              steady    open + close overhead with / without the agent, alternating JVM pairs
              steady-wrapper
                        the same through the wrapper driver (jdbc:pgreclaim:postgresql://, no agent), its
                        JVMs interleaved with the steady ones (with both: rounds of three JVMs)
              recovery  a refused open reclaimed and retried, in a warm JVM; its floor of two logins;
                        the first reclaim of a warm JVM
              recovery-wrapper
                        the same recovery and floor in a warm JVM with the wrapper driver instead of
                        the agent, in the recovery table beside the agent's rows
              start     JVM start and peak RSS: no pgjdbc, loads the Driver, lives past the agent's
                        background start-up work; without an agent, with an empty one, with this one
              storm     64 threads against a role whose 8 slots are held by idle sessions of other JVMs,
                        without and with the agent
              surge     8 warm JVMs of one role refused at the same moment, 8 idle victims

            Tables go to stdout, progress (figure, steps done / total, time left) to stderr. Every row with a
            target says met or MISSED; the summary at the end lists them all.
            """;

    private Bench() {
    }

    public static void main(String[] args) throws Exception {
        if (List.of(args).contains("--help") || List.of(args).contains("-h")) {
            System.out.print(USAGE);
            return;
        }
        try {
            run(args);
        } catch (IllegalArgumentException badUsage) {
            System.err.println(badUsage.getMessage());
            System.err.print(USAGE);
            System.exit(2);
        }
    }

    /** Runs the figures; returns the markdown written to the results file. */
    public static String run(String... args) throws Exception {
        boolean quick = false;
        List<String> only = FIGURES;
        Path out = Path.of("target", "bench", "results.md");
        Path agent = null;
        Path jdbc = null;
        List<Path> javas = null;
        for (String arg : args) {
            if (arg.equals("--quick")) {
                quick = true;
            } else if (arg.startsWith("--only=")) {
                only = new ArrayList<>(Arrays.asList(arg.substring(7).split(",")));
                for (String figure : only) {
                    if (!FIGURES.contains(figure)) {
                        throw new IllegalArgumentException("unknown figure " + figure + "; expected " + FIGURES);
                    }
                }
                if (only.contains("surge") && !only.contains("recovery")) {
                    only.add("recovery");
                }
            } else if (arg.startsWith("--out=")) {
                out = Path.of(arg.substring(6));
            } else if (arg.startsWith("--agent=")) {
                agent = Path.of(arg.substring(8));
            } else if (arg.startsWith("--jdbc=")) {
                jdbc = Path.of(arg.substring(7));
            } else if (arg.startsWith("--javas=")) {
                javas = new ArrayList<>();
                for (String java : arg.substring(8).split(",")) {
                    javas.add(Path.of(java));
                }
            } else {
                throw new IllegalArgumentException("unknown argument " + arg);
            }
        }
        Path agentJar = agent != null ? agent : findAgentJar();
        boolean wrapper = only.contains("steady-wrapper") || only.contains("recovery-wrapper");
        Path jdbcJar = !wrapper ? null : jdbc != null ? jdbc : findJdbcJar();
        out = out.toAbsolutePath();
        long started = System.nanoTime();
        System.err.println("[bench] starting a private PostgreSQL");
        PostgresServer server = PostgresServers.startPrivate(Map.of("max_connections", "200"));
        StringBuilder report = new StringBuilder();
        try {
            BenchContext context = new BenchContext(quick, server, agentJar, jdbcJar,
                    javas != null ? javas : defaultJavas(), out.getParent(), only);
            report.append("# pg-reclaim benchmarks").append(quick ? " (quick mode: small counts, smoke test only)" : "")
                    .append("\n\n").append(Instant.now().truncatedTo(ChronoUnit.SECONDS)).append(", command: `Bench ")
                    .append(String.join(" ", args)).append("`\n\n").append(Machine.describe(context)).append('\n');
            emit(report.toString());
            List<String> selected = new ArrayList<>();
            for (String section : SECTIONS) {
                if (only.contains(section) || only.contains(section + "-wrapper")) {
                    selected.add(section);
                }
            }
            context.figureCount = selected.size();
            for (String figure : selected) {
                context.figure = figure;
                context.figureNumber++;
                long figureStarted = System.nanoTime();
                String section = switch (figure) {
                    case "steady" -> SteadyFigure.run(context);
                    case "recovery" -> RecoveryFigure.run(context);
                    case "start" -> StartFigure.run(context);
                    case "storm" -> StormFigure.run(context);
                    default -> SurgeFigure.run(context);
                };
                Progress.note(context, "done in " + (System.nanoTime() - figureStarted) / 1_000_000_000 + " s");
                emit(section + "\n");
                report.append(section).append('\n');
            }
            String summary = summary(context);
            emit(summary + "\n");
            report.append(summary).append('\n');
            String footer = "Load average at the end: " + Machine.loadAverage() + "; total "
                    + (System.nanoTime() - started) / 1_000_000_000 + " s.\n";
            emit(footer);
            report.append(footer);
        } finally {
            server.close();
        }
        Files.createDirectories(out.getParent());
        Files.writeString(out, report.toString(), StandardCharsets.UTF_8);
        System.out.println("written to " + out);
        return report.toString();
    }

    /** Every row with a target, in one table: what a reader (or a script) checks first. */
    private static String summary(BenchContext context) {
        Table table = new Table("figure", "row", "result");
        int missed = 0;
        for (String[] verdict : context.verdicts) {
            table.row((Object[]) verdict);
            missed += verdict[2].startsWith("MISSED") ? 1 : 0;
        }
        return "## Summary\n\n" + context.verdicts.size() + (context.verdicts.size() == 1 ? " target, " : " targets, ")
                + missed + " MISSED.\n\n" + table.render();
    }

    private static void emit(String text) {
        System.out.print(text);
        System.out.flush();
    }

    /** {@code -Dpgreclaim.bench.agentJar}, else the build output seen from the project root or a module folder. */
    private static Path findAgentJar() throws IOException {
        String property = System.getProperty("pgreclaim.bench.agentJar");
        List<Path> candidates = property != null ? List.of(Path.of(property))
                : List.of(Path.of("agent", "target", "pg-reclaim-agent.jar"),
                        Path.of("..", "agent", "target", "pg-reclaim-agent.jar"));
        for (Path candidate : candidates) {
            if (Files.isRegularFile(candidate)) {
                return candidate.toAbsolutePath().normalize();
            }
        }
        throw new IOException("agent jar not found at " + candidates + "; build it (mvn -DskipTests package) or pass"
                + " --agent=path");
    }

    /** {@code -Dpgreclaim.bench.jdbcJar}, else the build output seen from the project root or a module folder. */
    private static Path findJdbcJar() throws IOException {
        String property = System.getProperty("pgreclaim.bench.jdbcJar");
        List<Path> candidates = property != null ? List.of(Path.of(property))
                : List.of(Path.of("jdbc", "target", "pg-reclaim-jdbc.jar"),
                        Path.of("..", "jdbc", "target", "pg-reclaim-jdbc.jar"));
        for (Path candidate : candidates) {
            if (Files.isRegularFile(candidate)) {
                return candidate.toAbsolutePath().normalize();
            }
        }
        throw new IOException("wrapper driver jar not found at " + candidates + "; build it (mvn -DskipTests package),"
                + " pass --jdbc=path, or leave the wrapper figures out (--only=steady,recovery,...)");
    }

    /** This JVM's java, plus Temurin 25 when installed under /usr/lib/jvm. */
    private static List<Path> defaultJavas() throws IOException {
        List<Path> javas = new ArrayList<>();
        Path current = Path.of(System.getProperty("java.home"), "bin", "java");
        javas.add(current);
        Path jvms = Path.of("/usr/lib/jvm");
        if (Files.isDirectory(jvms)) {
            try (var dirs = Files.list(jvms)) {
                for (Path dir : dirs.sorted().toList()) {
                    Path java = dir.resolve("bin").resolve("java");
                    if (dir.getFileName().toString().startsWith("temurin-25") && Files.isExecutable(java)
                            && !java.toRealPath().equals(current.toRealPath())) {
                        javas.add(java);
                    }
                }
            }
        }
        return javas;
    }
}
