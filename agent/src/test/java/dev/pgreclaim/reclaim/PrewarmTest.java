package dev.pgreclaim.reclaim;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PrewarmTest {

  @Test
  void findsTheReclaimPathInAClassDirectoryAndNothingElse() {
    List<String> names = Prewarm.classNames(Prewarm.codeSourceOf(Prewarm.class));

    assertThat(names).contains("dev.pgreclaim.reclaim.ReclaimSite", "dev.pgreclaim.reclaim.VictimQuery",
        "dev.pgreclaim.log.ReclaimLog", "dev.pgreclaim.log.ReclaimLog$StderrSink")
        .allMatch(n -> n.startsWith("dev.pgreclaim.reclaim.") || n.startsWith("dev.pgreclaim.log."));
  }

  @Test
  void findsTheReclaimPathInAJar(@TempDir Path dir) throws Exception {
    Path jar = dir.resolve("agent.jar");
    try (OutputStream file = Files.newOutputStream(jar); JarOutputStream out = new JarOutputStream(file)) {
      for (String entry : List.of("dev/pgreclaim/reclaim/", "dev/pgreclaim/reclaim/A.class",
          "dev/pgreclaim/reclaim/A$1.class", "dev/pgreclaim/log/B.class", "dev/pgreclaim/cli/C.class",
          "dev/pgreclaim/reclaim/notes.txt", "META-INF/pg-reclaim/postgresql.jar")) {
        out.putNextEntry(new JarEntry(entry));
        out.closeEntry();
      }
    }

    assertThat(Prewarm.classNames(jar.toFile()))
        .containsExactly("dev.pgreclaim.reclaim.A", "dev.pgreclaim.reclaim.A$1", "dev.pgreclaim.log.B");
  }

  @Test
  void anUnreadableCodeSourceGivesNothingRatherThanFailing(@TempDir Path dir) throws Exception {
    File notAJar = Files.writeString(dir.resolve("broken.jar"), "not a zip").toFile();

    assertThat(Prewarm.classNames(notAJar)).isEmpty();
    assertThat(Prewarm.classNames(null)).isEmpty();
  }

  @Test
  void runInitialisesTheReclaimPathWithoutFailing() {
    assertThat(Prewarm.run()).isGreaterThan(20);
  }
}
