package dev.pgreclaim.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import org.junit.jupiter.api.Test;

/**
 * The packaged {@code pg-reclaim-jdbc.jar}: the project's own packages and META-INF only (no Byte Buddy, no ASM, no
 * SLF4J, no pgjdbc), the driver service entry and the native-image metadata.
 */
class JdbcJarIT {

  static File jar() {
    String path = System.getProperty("pgreclaim.test.jdbcJar");
    assertThat(path).as("pgreclaim.test.jdbcJar (set by failsafe)").isNotNull();
    File jar = new File(path);
    assertThat(jar).isFile();
    return jar;
  }

  @Test
  void holdsOnlyTheProjectsPackagesAndMetaInf() throws Exception {
    List<String> names = new ArrayList<>();
    List<String> foreign = new ArrayList<>();
    try (JarFile jar = new JarFile(jar())) {
      for (JarEntry entry : Collections.list(jar.entries())) {
        String name = entry.getName();
        names.add(name);
        boolean ours = name.equals("dev/") || name.startsWith("dev/pgreclaim/") || name.startsWith("META-INF/");
        if (!ours || name.endsWith(".class") && !name.startsWith("dev/pgreclaim/")) {
          foreign.add(name);
        }
      }
    }
    assertThat(foreign).as("entries outside dev/pgreclaim/ and META-INF/").isEmpty();
    assertThat(names)
        .noneMatch(n -> n.contains("bytebuddy") || n.contains("/asm/") || n.contains("slf4j")
            || n.contains("org/postgresql") || n.startsWith("dev/pgreclaim/shaded/")
            || n.startsWith("dev/pgreclaim/agent/") || n.startsWith("dev/pgreclaim/testkit/"))
        .noneMatch(n -> n.startsWith("META-INF/") && n.endsWith(".class"))
        .contains("dev/pgreclaim/jdbc/PgReclaimDriver.class", "dev/pgreclaim/jdbc/PgReclaimDataSource.class",
            "dev/pgreclaim/reclaim/OpenHandler.class", "dev/pgreclaim/policy/PolicyParser.class",
            "META-INF/services/java.sql.Driver", ReflectConfigTest.RESOURCE);
  }

  /** What users who depend on pg-reclaim-jdbc get: the core is inside the jar, pgjdbc stays theirs. */
  @Test
  void thePublishedPomDependsOnNothingButTheApplicationsPgjdbc() throws Exception {
    String pom = java.nio.file.Files.readString(jar().toPath().resolveSibling("dependency-reduced-pom.xml"));
    String dependencies = pom.substring(pom.indexOf("<dependencies>"), pom.indexOf("</dependencies>"))
        .replaceAll("(?s)<exclusions>.*?</exclusions>", "");
    assertThat(dependencies).doesNotContain("pg-reclaim-core").doesNotContain("byte-buddy")
        .contains("<artifactId>postgresql</artifactId>");
    for (String dependency : dependencies.split("<dependency>")) {
      if (dependency.contains("<artifactId>")) {
        assertThat(dependency).as(dependency).containsAnyOf("<scope>provided</scope>", "<scope>test</scope>");
      }
    }
  }

  @Test
  void registersTheWrapperDriverAsAService() throws Exception {
    try (JarFile jar = new JarFile(jar())) {
      String services = new String(jar.getInputStream(jar.getEntry("META-INF/services/java.sql.Driver"))
          .readAllBytes(), StandardCharsets.UTF_8);
      assertThat(services.strip()).isEqualTo("dev.pgreclaim.jdbc.PgReclaimDriver");
      assertThat(jar.getManifest().getMainAttributes().getValue("Implementation-Title")).isEqualTo("pg-reclaim-jdbc");
    }
  }
}
