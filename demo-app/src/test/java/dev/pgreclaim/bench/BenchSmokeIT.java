package dev.pgreclaim.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Smoke test of the benchmark programs in quick mode (small counts). It asserts nothing about speed (that is for a
 * benchmark run to show, not a timed test), but that every figure ran and measured what it says: the samples are
 * all there, no round failed, the agent was active in every JVM measured with it, and the terminations were exactly
 * the victims. The counts are read from the tables a reader sees, independently of the bench's own verdicts.
 */
class BenchSmokeIT {
    /** About 2 minutes on 2 quiet cores; 6 minutes was measured under a load average of 29. */
    @Test
    @Timeout(1800)
    void quickModeMeasuresEveryFigure(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("results.md");
        String report = Bench.run("--quick", "--out=" + out);
        assertThat(Files.readString(out)).as("the results file").isEqualTo(report);
        assertThat(report).contains("| PostgreSQL", "| pgjdbc");

        // every figure ran: its heading, and at least one of its targets in the summary
        String[] headings = {"## 1. Steady connect overhead", "## 2. Recovery latency", "### First reclaim of a JVM",
            "## 3. JVM start", "## 4. Storm", "## 5. Surge", "## Summary"};
        for (String heading : headings) {
            assertThat(report).as("heading").contains(heading);
        }
        List<String> summarised = new ArrayList<>();
        for (List<String> row : rows(section(report, "## Summary"))) {
            summarised.add(row.get(0));
        }
        assertThat(summarised).as("figures with a target in the summary").containsAll(Bench.FIGURES);

        // 1. steady: 2 rounds of 50 timed opens per JVM, the agent active in both agent JVMs, the wrapper driver
        // serving the URL and active in both of its JVMs (no agent there)
        String steady = section(report, "## 1. Steady");
        assertThat(cell(steady, "no agent", 1)).isEqualTo("100");
        assertThat(cell(steady, "pg-reclaim agent", 1)).isEqualTo("100");
        assertThat(steady).contains("was seen in 2 of 2 JVMs with the agent");
        assertThat(cell(steady, "pg-reclaim wrapper driver", 1)).isEqualTo("100");
        assertThat(cell(steady, "pg-reclaim wrapper driver", 5)).as("wrapper ratio").matches("\\d+\\.\\d{3}");
        assertThat(cell(steady, "pg-reclaim wrapper driver", 6)).doesNotContain("inactive");
        assertThat(steady).contains("was active in 2 of 2 JVMs with the wrapper");

        // 2. recovery: 10 timed rounds, none failed; the floor and the agent's share measured
        String recovery = section(report, "## 2. Recovery");
        assertThat(cell(recovery, "pg-reclaim: refused, reclaimed, retried", 1)).isEqualTo("10");
        assertThat(cell(recovery, "pg-reclaim: refused, reclaimed, retried", 5)).isEqualTo("0");
        assertThat(cell(recovery, "pg-reclaim: refused, reclaimed, retried", 2)).endsWith(" ms");
        assertThat(cell(recovery, "floor: refused open + plain open", 1)).isEqualTo("10");
        assertThat(cell(recovery, "the agent's own share", 2)).endsWith(" ms");
        assertThat(recovery).contains("holders that survived a recovered round: 0.");
        // the same through the wrapper driver, in its own warm JVM without the agent, beside the agent's rows
        String wrapperRow = "pg-reclaim wrapper driver: refused, reclaimed, retried";
        assertThat(cell(recovery, wrapperRow, 1)).isEqualTo("10");
        assertThat(cell(recovery, wrapperRow, 5)).isEqualTo("0");
        assertThat(cell(recovery, wrapperRow, 2)).endsWith(" ms");
        assertThat(cell(recovery, wrapperRow, 3)).endsWith(" ms");
        assertThat(cell(recovery, wrapperRow, 6)).doesNotContain("failed", "survived", "timed", "not active");
        assertThat(cell(recovery, "wrapper JVM: floor", 1)).isEqualTo("10");
        assertThat(cell(recovery, "the wrapper's own share", 2)).endsWith(" ms");
        // one termination per round, warm-up rounds included (2 + 10), and never anyone else's session
        assertThat(recovery).containsPattern("Wrapper driver: recovered / plain \\(p50\\): \\d+\\.\\d\\dx;")
                .contains("Wrapper terminations (MBean): 12; holders that survived a recovered round: 0.");
        // first reclaim: 2 JVMs, both reclaims of each timed (a failed one is left out of the count)
        assertThat(cell(recovery, "first reclaim of the JVM", 1)).isEqualTo("2");
        assertThat(cell(recovery, "second reclaim of the JVM", 1)).isEqualTo("2");
        assertThat(cell(recovery, "first reclaim of the JVM", 6)).doesNotContain("agent inactive", "failed");

        // 3. start: every cell measured, the agent active in every run that loads the Driver
        String start = section(report, "## 3. JVM start");
        assertThat(start).as("the start figure measured, not skipped").contains("Classes loaded");
        List<List<String>> startRows = rows(start.substring(0, start.indexOf("Classes loaded")));
        assertThat(startRows).as("Java x 3 programs x 3 variants").hasSizeGreaterThanOrEqualTo(9);
        int agentRows = 0;
        for (List<String> row : startRows) {
            assertThat(row.get(3)).as("wall of " + row).endsWith(" ms");
            if (row.get(2).equals("pg-reclaim agent")) {
                agentRows++;
                Matcher active = Pattern.compile("(\\d+) of (\\d+)").matcher(row.get(8));
                assertThat(active.matches()).as("agent active cell of " + row).isTrue();
                assertThat(active.group(1)).as("runs with the agent active, " + row).isEqualTo(active.group(2));
            }
        }
        assertThat(agentRows).isEqualTo(startRows.size() / 3);

        // 4. storm: both storms ran, the agent terminated exactly the holders
        String storm = section(report, "## 4. Storm");
        assertThat(Integer.parseInt(cell(storm, "with the agent", 2))).as("opens started with the agent")
                .isPositive();
        assertThat(Integer.parseInt(cell(storm, "without the agent", 2))).as("opens started without").isPositive();
        assertThat(cell(storm, "terminated backends", 3)).startsWith("met ");

        // 5. surge: 3 JVMs, each connected, exactly the 3 victims terminated, the agent active in each
        String surge = section(report, "## 5. Surge");
        assertThat(cell(surge, "1 (each JVM's first reclaim)", 2)).isEqualTo("3");
        assertThat(cell(surge, "1 (each JVM's first reclaim)", 3)).isEqualTo("0");
        assertThat(cell(surge, "1 (each JVM's first reclaim)", 6)).isEqualTo("3 = the 3 victims");
        assertThat(surge).contains("seen in 3 of 3 surge JVMs");
    }

    /** From a heading to the next heading of level 1 or 2. */
    private static String section(String report, String heading) {
        int from = report.indexOf(heading);
        assertThat(from).as("section " + heading).isNotNegative();
        Matcher next = Pattern.compile("(?m)^##? ").matcher(report);
        int to = next.find(from + heading.length()) ? next.start() : report.length();
        return report.substring(from, to);
    }

    /** The data rows of every table in the text, cells trimmed. */
    private static List<List<String>> rows(String text) {
        List<List<String>> rows = new ArrayList<>();
        boolean header = true;
        for (String line : text.split("\n")) {
            if (!line.startsWith("|")) {
                header = true;
                continue;
            }
            if (line.startsWith("|-")) {
                header = false;
                continue;
            }
            if (!header) {
                List<String> cells = new ArrayList<>();
                String[] parts = line.split("\\|", -1);
                for (int i = 1; i < parts.length - 1; i++) {
                    cells.add(parts[i].trim());
                }
                rows.add(cells);
            }
        }
        return rows;
    }

    /** The cell at {@code column} of the first row whose first cell starts with {@code label}. */
    private static String cell(String text, String label, int column) {
        for (List<String> row : rows(text)) {
            if (row.get(0).startsWith(label)) {
                return row.get(column);
            }
        }
        throw new AssertionError("no row '" + label + "' in\n" + text);
    }
}
