package dev.pgreclaim.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The usage text is the only list of figure names a user sees: every name {@code --only=} takes is in it. */
class BenchUsageTest {
    @Test
    void helpNamesEveryFigureOnlyTakesWithItsDescription() {
        String options = Bench.USAGE.substring(0, Bench.USAGE.indexOf("Figures:"));
        String figures = Bench.USAGE.substring(Bench.USAGE.indexOf("Figures:"));
        for (String figure : Bench.FIGURES) {
            assertThat(options).as("--only line").containsPattern("[ ,]" + figure + "[,\\s]");
            assertThat(figures).as("Figures section").containsPattern("(?m)^  " + figure + "\\s");
        }
        assertThat(Bench.FIGURES).contains("steady-wrapper", "recovery-wrapper");
        assertThat(options).contains("--jdbc=JAR");
    }

    @Test
    void anUnknownFigureIsRefusedBeforeAnyServerStarts() {
        assertThatThrownBy(() -> Bench.run("--only=steady,wrapper"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("unknown figure wrapper");
    }
}
