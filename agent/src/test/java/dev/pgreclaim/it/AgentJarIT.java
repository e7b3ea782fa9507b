package dev.pgreclaim.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgreclaim.testkit.ForkedJvm;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The shaded jar itself: only the project's packages and {@code META-INF}, the agent's manifest entries, and a
 * start-up that leaves Byte Buddy (and the reclaim machinery) unloaded until {@code org.postgresql.Driver} appears.
 */
class AgentJarIT {

  @Test
  void holdsOnlyTheProjectsPackagesAndMetaInf() throws Exception {
    List<String> foreign = new ArrayList<>();
    List<String> names = new ArrayList<>();
    try (JarFile jar = new JarFile(AgentRun.agentJar().toFile())) {
      for (JarEntry entry : java.util.Collections.list(jar.entries())) {
        String name = entry.getName();
        names.add(name);
        boolean ours = name.equals("dev/") || name.startsWith("dev/pgreclaim/") || name.startsWith("META-INF/");
        boolean classOutsideOurPackages = name.endsWith(".class") && !name.startsWith("dev/pgreclaim/");
        if (!ours || classOutsideOurPackages) {
          foreign.add(name);
        }
      }
    }
    assertThat(foreign).as("entries outside dev/pgreclaim/ and META-INF/").isEmpty();
    assertThat(names).noneMatch(n -> n.contains("net/bytebuddy") || n.startsWith("org/"))
        .anyMatch(n -> n.startsWith("dev/pgreclaim/shaded/bytebuddy/") && n.endsWith(".class"))
        .contains("dev/pgreclaim/agent/AgentMain.class");
    // the jar sits on the system class path of every JVM it is attached to: it must register no driver there (the
    // wrapper driver lives in its own jar) and must carry the core it shades
    assertThat(names).as("service entries").noneMatch(n -> n.startsWith("META-INF/services/"))
        .contains("dev/pgreclaim/reclaim/OpenHandler.class");
  }

  @Test
  void manifestDeclaresTheAgent() throws Exception {
    try (JarFile jar = new JarFile(AgentRun.agentJar().toFile())) {
      Attributes main = jar.getManifest().getMainAttributes();
      assertThat(main.getValue("Premain-Class")).isEqualTo("dev.pgreclaim.agent.AgentMain");
      assertThat(main.getValue("Agent-Class")).isEqualTo("dev.pgreclaim.agent.AgentMain");
      assertThat(main.getValue("Can-Retransform-Classes")).isEqualTo("true");
      assertThat(main.getValue("Main-Class")).startsWith("dev.pgreclaim.");
    }
  }

  static Stream<Arguments> javas() {
    return ForkedJvm.javaBinaries().stream().map(java -> Arguments.of(CompatibilityIT.javaName(java), java));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("javas")
  void startUpWithoutTheDriverLoadsNeitherByteBuddyNorTheReclaimCode(String javaName, Path java) {
    ForkedJvm.Result result = startUp(java, "none");

    assertThat(result.exitCode()).as(result.toString()).isZero();
    assertThat(result.stdout()).as(result.toString())
        .contains("NO DRIVER")
        .contains("dev.pgreclaim.agent.DriverTransformer") // the agent did start
        .doesNotContain("dev.pgreclaim.policy.") // read when the driver loads
        .doesNotContain("dev.pgreclaim.shaded.bytebuddy")
        .doesNotContain("dev.pgreclaim.agent.DriverWeaver")
        .doesNotContain("dev.pgreclaim.agent.ConnectInterceptor")
        .doesNotContain("dev.pgreclaim.reclaim.")
        .doesNotContain("dev.pgreclaim.metrics.")
        .doesNotContain("dev.pgreclaim.log.");
    assertThat(result.stderr()).as(result.toString()).isEmpty();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("javas")
  void loadingTheDriverLoadsTheWeaverAndWeaves(String javaName, Path java) {
    ForkedJvm.Result result = startUp(java, "driver");

    assertThat(result.exitCode()).as(result.toString()).isZero();
    assertThat(result.stdout()).as(result.toString())
        .contains("DRIVER LOADED")
        .contains("dev.pgreclaim.shaded.bytebuddy.jar.asm.ClassReader");
    assertThat(result.stderr()).as(result.toString())
        .contains("[pg-reclaim] INFO active on org.postgresql.Driver")
        .doesNotContain("could not weave")
        .doesNotContain("Sharing is only supported");
  }

  @Test
  void theReclaimPathIsLoadedInTheBackgroundAfterTheDriverWithoutAnyConnection() {
    ForkedJvm.Result result = AgentRun.app().mainClass(StartupApp.class.getName())
        .property("pgreclaim.mode", "terminate").property("pgreclaim.admin.user", "reclaimer")
        .property("pgreclaim.jmx", "false")
        .jvmArg("-verbose:class")
        .run("driver-then-wait", "30000"); // until the background work, which starts 2 s after the driver, is done

    assertThat(result.exitCode()).as(result.toString()).isZero();
    String stdout = result.stdout();
    assertThat(stdout).as(result.toString()).doesNotContain("INIT STILL RUNNING");
    int loaded = stdout.indexOf("DRIVER LOADED");
    int waited = stdout.indexOf("WAITED");
    assertThat(loaded).as(result.toString()).isPositive();
    assertThat(waited).as(result.toString()).isGreaterThan(loaded);
    String beforeDriver = stdout.substring(0, loaded);
    String inBackground = stdout.substring(loaded, waited);
    assertThat(beforeDriver).doesNotContain("dev.pgreclaim.reclaim.ReclaimSite");
    assertThat(inBackground).as("classes read from the shaded jar's own entries")
        .contains("dev.pgreclaim.reclaim.ReclaimSite ")
        .contains("dev.pgreclaim.reclaim.VictimQuery ")
        .contains("dev.pgreclaim.reclaim.AdminSession ")
        .contains("dev.pgreclaim.reclaim.ReclaimLock ")
        .contains("java.util.concurrent.ScheduledThreadPoolExecutor ")
        .doesNotContain("dev.pgreclaim.cli.")
        .doesNotContain("dev.pgreclaim.metrics.ReclaimStats");
    assertThat(result.stderr()).as(result.toString()).doesNotContain("ERROR").doesNotContain("WARN");
  }

  @Test
  void anInvalidConfigurationIsReportedWhenTheDriverLoadsAndNothingIsWoven() {
    ForkedJvm.Result result = startUp(Path.of(System.getProperty("java.home"), "bin", "java"), "driver",
        "pgreclaim.deadline", "-5s");

    assertThat(result.exitCode()).as(result.toString()).isZero();
    assertThat(result.stdout()).as(result.toString())
        .contains("DRIVER LOADED")
        .doesNotContain("dev.pgreclaim.shaded.bytebuddy")
        .doesNotContain("dev.pgreclaim.reclaim.");
    assertThat(result.stderr()).as(result.toString())
        .contains("[pg-reclaim] ERROR invalid configuration, agent inactive")
        .contains("pgreclaim.deadline='-5s' is invalid")
        .doesNotContain("active on org.postgresql.Driver")
        .doesNotContain("not-used-here");
  }

  @Test
  void aJvmThatNeverLoadsTheDriverNeverReadsTheConfiguration() {
    ForkedJvm.Result result = startUp(Path.of(System.getProperty("java.home"), "bin", "java"), "none",
        "pgreclaim.deadline", "-5s");

    assertThat(result.exitCode()).as(result.toString()).isZero();
    assertThat(result.stdout()).as(result.toString()).contains("NO DRIVER")
        .doesNotContain("dev.pgreclaim.policy.");
    assertThat(result.stderr()).as(result.toString()).isEmpty();
  }

  private static ForkedJvm.Result startUp(Path java, String mode, String... extraProperties) {
    AgentRun run = AgentRun.app().java(java).mainClass(StartupApp.class.getName())
        .property("pgreclaim.mode", "terminate").property("pgreclaim.admin.user", "reclaimer")
        .property("pgreclaim.jmx", "false")
        .env("PGRECLAIM_ADMIN_PASSWORD", "not-used-here")
        .jvmArg("-verbose:class");
    for (int i = 0; i < extraProperties.length; i += 2) {
      run = run.property(extraProperties[i], extraProperties[i + 1]);
    }
    return run.run(mode);
  }
}
