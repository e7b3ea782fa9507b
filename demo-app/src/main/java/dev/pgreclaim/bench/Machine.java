package dev.pgreclaim.bench;

import dev.pgreclaim.testkit.PostgresServer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** The machine description that goes with the figures. */
final class Machine {
    private static final Map<Path, String> VERSIONS = new ConcurrentHashMap<>();

    private Machine() {
    }

    static String describe(BenchContext context) throws Exception {
        Table table = new Table("", "");
        table.row("CPU", cpuModel() + ", " + Runtime.getRuntime().availableProcessors() + " cores visible to the JVM");
        table.row("memory", memTotal());
        table.row("OS", System.getProperty("os.name") + " " + System.getProperty("os.version") + " "
                + System.getProperty("os.arch"));
        for (Path java : context.javas) {
            table.row("Java " + javaVersion(java), javaRuntime(java) + " (" + java + ")");
        }
        table.row("PostgreSQL", serverVersion(context.server) + " (" + context.server.kind() + ", scram-sha-256,"
                + " 127.0.0.1)");
        table.row("pgjdbc", org.postgresql.util.DriverInfo.DRIVER_FULL_NAME + " (" + context.pgjdbcJar.getFileName()
                + ")");
        table.row("agent jar", context.agentJar + " (" + Files.size(context.agentJar) / 1024 + " KiB)");
        if (context.jdbcJar != null) {
            table.row("wrapper driver jar", context.jdbcJar + " (" + Files.size(context.jdbcJar) / 1024 + " KiB)");
        }
        table.row("load average at start", loadAverage());
        return table.render();
    }

    static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim();
        } catch (IOException e) {
            return "unknown";
        }
    }

    private static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).trim();
                }
            }
        } catch (IOException e) {
            // not Linux
        }
        return System.getProperty("os.arch");
    }

    private static String memTotal() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    long kib = Long.parseLong(line.replaceAll("[^0-9]", ""));
                    return String.format(Locale.ROOT, "%.1f GiB", kib / 1024.0 / 1024.0);
                }
            }
        } catch (IOException e) {
            // not Linux
        }
        return "unknown";
    }

    private static String serverVersion(PostgresServer server) throws Exception {
        try (Connection connection = server.connectAsSuperuser("postgres");
                Statement statement = connection.createStatement();
                ResultSet rows = statement.executeQuery("select version()")) {
            rows.next();
            return rows.getString(1);
        }
    }

    /** e.g. {@code 17.0.15}, from {@code java -version}. */
    static String javaVersion(Path java) {
        String first = versionOutput(java).get(0);
        int open = first.indexOf('"');
        int close = first.indexOf('"', open + 1);
        return open >= 0 && close > open ? first.substring(open + 1, close) : first;
    }

    private static String javaRuntime(Path java) {
        List<String> lines = versionOutput(java);
        return lines.size() > 1 ? lines.get(1).trim() : lines.get(0).trim();
    }

    private static List<String> versionOutput(Path java) {
        String text = VERSIONS.computeIfAbsent(java, j -> {
            try {
                Process process = new ProcessBuilder(j.toString(), "-version").redirectErrorStream(true).start();
                String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                process.waitFor();
                return output;
            } catch (IOException e) {
                return "unknown (" + e + ")";
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return "unknown";
            }
        });
        return List.of(text.split("\n"));
    }
}
