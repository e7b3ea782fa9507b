package dev.pgreclaim.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.opentest4j.TestAbortedException;

/** A requested PostgreSQL major is that major or a failure: never a skip, never another major. */
class PgBinariesTest {
  private String saved;
  private String savedBin;

  @BeforeEach
  void save() {
    saved = System.getProperty(PgBinaries.MAJOR_PROPERTY);
    savedBin = System.getProperty("pgreclaim.test.pgbin");
  }

  @AfterEach
  void restore() {
    restore(PgBinaries.MAJOR_PROPERTY, saved);
    restore("pgreclaim.test.pgbin", savedBin);
  }

  private static void restore(String key, String value) {
    if (value == null) {
      System.clearProperty(key);
    } else {
      System.setProperty(key, value);
    }
  }

  @Test
  void aMajorThatCannotBeHadFailsInsteadOfSkippingOrFallingBackToAnotherServer() {
    System.setProperty(PgBinaries.MAJOR_PROPERTY, "99");
    assertThat(PostgresServers.requireServer()).isTrue();
    assertThatThrownBy(() -> PostgresServers.startPrivate(Map.of()).close())
        .isInstanceOf(IllegalStateException.class)
        .isNotInstanceOf(TestAbortedException.class)
        .hasMessageContaining("no PostgreSQL 99 binaries");
  }

  @Test
  void binariesOfAnotherMajorThanTheOneAskedForAreRefused() {
    // the machine's own 15 (Debian layout), where this suite's default server comes from
    String bin15 = "/usr/lib/postgresql/15/bin";
    Assumptions.assumeTrue(Files.isExecutable(Path.of(bin15, "postgres")), "no PostgreSQL 15 in the Debian layout");
    System.setProperty("pgreclaim.test.pgbin", bin15);
    System.setProperty(PgBinaries.MAJOR_PROPERTY, "12");
    assertThatThrownBy(() -> PostgresServers.startPrivate(Map.of()).close())
        .isInstanceOf(IllegalStateException.class)
        .hasStackTraceContaining("pgreclaim.test.pgMajor=12 but " + bin15 + " runs PostgreSQL 15");
  }
}
