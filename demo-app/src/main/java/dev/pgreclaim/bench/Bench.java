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
 * steady connect overhead, recovery latency, JVM start, storm. Prints markdown tables on stdout and writes them, with
 * a machine description, to {@code target/bench/results.md}.
 *
 * <pre>
 * java -cp "demo-app/target/classes:demo-app/target/bench-lib/*" dev.pgreclaim.bench.Bench [--quick]
 *     [--only=steady,recovery,start,storm] [--out=target/bench/results.md]
 *     [--agent=agent/target/pg-reclaim-agent.jar] [--javas=/path/to/java,/other/java]
 * </pre>
 */
public final class Bench {
    static final List<String> FIGURES = List.of("steady", "recovery", "start", "storm");

    private Bench() {
    }

    public static void main(String[] args) throws Exception {
        run(args);
    }

    /** Runs the figures; returns the markdown written to the results file. */
    public static String run(String... args) throws Exception {
        boolean quick = false;
        List<String> only = FIGURES;
        Path out = Path.of("target", "bench", "results.md");
        Path agent = null;
        List<Path> javas = null;
        for (String arg : args) {
            if (arg.equals("--quick")) {
                quick = true;
            } else if (arg.startsWith("--only=")) {
                only = Arrays.asList(arg.substring(7).split(","));
                for (String figure : only) {
                    if (!FIGURES.contains(figure)) {
                        throw new IllegalArgumentException("unknown figure " + figure + "; expected " + FIGURES);
                    }
                }
            } else if (arg.startsWith("--out=")) {
                out = Path.of(arg.substring(6));
            } else if (arg.startsWith("--agent=")) {
                agent = Path.of(arg.substring(8));
            } else if (arg.startsWith("--javas=")) {
                javas = new ArrayList<>();
                for (String java : arg.substring(8).split(",")) {
                    javas.add(Path.of(java));
                }
            } else {
                throw new IllegalArgumentException("unknown argument " + arg + "; usage: Bench [--quick]"
                        + " [--only=" + String.join(",", FIGURES) + "] [--out=file.md] [--agent=jar]"
                        + " [--javas=java,java]");
            }
        }
        Path agentJar = agent != null ? agent : findAgentJar();
        out = out.toAbsolutePath();
        long started = System.nanoTime();
        PostgresServer server = PostgresServers.startPrivate(Map.of("max_connections", "200"));
        StringBuilder report = new StringBuilder();
        try {
            BenchContext context = new BenchContext(quick, server, agentJar, javas != null ? javas : defaultJavas(),
                    out.getParent());
            report.append("# pg-reclaim benchmarks").append(quick ? " (quick mode: small counts, smoke test only)" : "")
                    .append("\n\n").append(Instant.now().truncatedTo(ChronoUnit.SECONDS)).append(", command: `Bench ")
                    .append(String.join(" ", args)).append("`\n\n").append(Machine.describe(context)).append('\n');
            emit(report.toString());
            for (String figure : FIGURES) {
                if (!only.contains(figure)) {
                    continue;
                }
                String section = switch (figure) {
                    case "steady" -> SteadyFigure.run(context);
                    case "recovery" -> RecoveryFigure.run(context);
                    case "start" -> StartFigure.run(context);
                    default -> StormFigure.run(context);
                };
                emit(section + "\n");
                report.append(section).append('\n');
            }
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
