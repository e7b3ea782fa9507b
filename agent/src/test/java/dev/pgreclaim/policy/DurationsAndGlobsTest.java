package dev.pgreclaim.policy;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class DurationsAndGlobsTest {

  @Test
  void parsesTheDocumentedUnits() {
    assertThat(Durations.parseMillis("250ms")).isEqualTo(250);
    assertThat(Durations.parseMillis("10s")).isEqualTo(10_000);
    assertThat(Durations.parseMillis("2m")).isEqualTo(120_000);
    assertThat(Durations.parseMillis("1h")).isEqualTo(3_600_000);
    assertThat(Durations.parseMillis(" 0ms ")).isZero();
  }

  @Test
  void rejectsEverythingElse() {
    for (String bad : new String[] {"", "10", "ms", "-1s", "1.5s", "10 s", "1d", "999999999999999h", "1000000000000s",
        "10S", "abc"}) {
      assertThat(Durations.parseMillis(bad)).as(bad).isEqualTo(-1);
    }
    assertThat(Durations.parseMillis(null)).isEqualTo(-1);
  }

  @Test
  void formatsBackTheShortestExactForm() {
    assertThat(Durations.format(1500)).isEqualTo("1500ms");
    assertThat(Durations.format(10_000)).isEqualTo("10s");
    assertThat(Durations.format(120_000)).isEqualTo("2m");
    assertThat(Durations.format(0)).isEqualTo("0ms");
    assertThat(Durations.human(12_345)).isEqualTo("12.3s");
  }

  @Test
  void globsMatchWholeNames() {
    assertThat(Globs.matches("batch-*", "batch-nightly")).isTrue();
    assertThat(Globs.matches("batch-*", "my-batch-nightly")).isFalse();
    assertThat(Globs.matches("app-?", "app-1")).isTrue();
    assertThat(Globs.matches("app-?", "app-12")).isFalse();
    assertThat(Globs.matches("*", "")).isTrue();
    assertThat(Globs.matches("x", null)).isFalse();
  }

  @Test
  void globsBecomeEscapedLikePatterns() {
    assertThat(Globs.toLike("batch-*")).isEqualTo("batch-%");
    assertThat(Globs.toLike("a_b%c?\\")).isEqualTo("a\\_b\\%c_\\\\");
  }
}
