package dev.pgreclaim.bench;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Smoke test of the benchmark programs: quick mode (small counts) completes and prints every table. It asserts
 * nothing about the figures themselves: speed is for the benchmark run to show, not for a timed test.
 */
class BenchSmokeIT {
    @Test
    void quickModeCompletesAndPrintsEveryTable(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("results.md");
        String report = Bench.run("--quick", "--out=" + out);
        String[] headings = {"## 1. Steady connect overhead", "## 2. Recovery latency", "## 3. JVM start",
            "## 4. Storm", "| PostgreSQL", "| pgjdbc"};
        for (String heading : headings) {
            assertTrue(report.contains(heading), () -> "missing " + heading + " in\n" + report);
        }
        assertTrue(report.contains("| pg-reclaim agent"), report);
        assertTrue(Files.readString(out).equals(report), "results file differs from the printed report");
    }
}
