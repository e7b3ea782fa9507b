package dev.pgreclaim.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgreclaim.testkit.ForkedJvm;
import dev.pgreclaim.testkit.IdleHolder;
import dev.pgreclaim.testkit.IdleHolder.HoldState;
import dev.pgreclaim.testkit.PostgresServer;
import dev.pgreclaim.testkit.PostgresTest;
import dev.pgreclaim.testkit.TestDatabase;
import dev.pgreclaim.testkit.TestDatabase.Seed;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The seed scenario (role limit 1, its only slot held by an idle session of another process, the application opens
 * a connection) replayed across the compatibility matrix: pgjdbc versions and JVMs with {@code DriverManager} on the
 * flat class path; the other open paths and class-loader setups on pgjdbc 42.7 under every JVM of
 * {@link ForkedJvm#javaBinaries()}. Each cell also reads the agent's MBean inside the application JVM.
 */
@PostgresTest
class CompatibilityIT {
  static final String PGJDBC_42_7 = "postgresql-42.7.jar";

  static Stream<Arguments> driverVersions() {
    List<Arguments> cells = new ArrayList<>();
    for (Path java : ForkedJvm.javaBinaries()) {
      for (String jar : List.of("postgresql-42.2.jar", "postgresql-42.5.jar", PGJDBC_42_7)) {
        // loginTimeout runs the open on a worker: ConnectThread up to 42.7.12, ConnectTask from 42.7.13
        for (String how : List.of("drivermanager", "logintimeout")) {
          cells.add(Arguments.of(javaName(java), jar, how, java));
        }
      }
    }
    return cells.stream();
  }

  static Stream<Arguments> openPaths() {
    List<Arguments> cells = new ArrayList<>();
    for (Path java : ForkedJvm.javaBinaries()) {
      for (String how : List.of("datasource", "hikari")) {
        cells.add(Arguments.of(javaName(java), how, java));
      }
    }
    return cells.stream();
  }

  static Stream<Arguments> classLoaders() {
    List<Arguments> cells = new ArrayList<>();
    for (Path java : ForkedJvm.javaBinaries()) {
      cells.add(Arguments.of(javaName(java), "child", "driver", java));
      cells.add(Arguments.of(javaName(java), "isolated", "driver", java));
      cells.add(Arguments.of(javaName(java), "isolated", "logintimeout", java));
    }
    return cells.stream();
  }

  @ParameterizedTest(name = "DriverManager ({2}), {1} on the class path, {0}")
  @MethodSource("driverVersions")
  void driverManagerOnTheClassPath(String javaName, String pgjdbcJar, String how, Path java, PostgresServer server)
      throws Exception {
    Path driverJar = AgentRun.appLib(pgjdbcJar);
    ForkedJvm.Result result = replaySeed(server, java, List.of(AgentRun.testClasses(), driverJar), how, "flat",
        List.of());
    // no SLF4J in this application: the agent's lines are compact stderr lines
    assertThat(result.stderr()).containsPattern("(?m)^\\[pg-reclaim\\] INFO active on org.postgresql.Driver")
        .containsPattern("(?m)^\\[pg-reclaim\\] WARN pg-reclaim AUDIT terminated pid=");
  }

  @ParameterizedTest(name = "{1}, pgjdbc 42.7 on the class path, {0}")
  @MethodSource("openPaths")
  void openPathsOnTheClassPath(String javaName, String how, Path java, PostgresServer server) throws Exception {
    List<Path> classpath = new ArrayList<>(List.of(AgentRun.testClasses(), AgentRun.appLib(PGJDBC_42_7)));
    if (how.equals("hikari")) {
      // HikariCP 5 needs slf4j-api; without a binding the agent's lines go to stderr
      classpath.add(AgentRun.appLib("HikariCP.jar"));
      classpath.add(AgentRun.appLib("slf4j-api.jar"));
    }
    replaySeed(server, java, classpath, how, "flat", List.of());
  }

  @ParameterizedTest(name = "{2} with pgjdbc 42.7 in a {1} class loader, {0}")
  @MethodSource("classLoaders")
  void driverInItsOwnClassLoader(String javaName, String loader, String how, Path java, PostgresServer server)
      throws Exception {
    Path driverJar = AgentRun.appLib(PGJDBC_42_7);
    ForkedJvm.Result result = replaySeed(server, java, List.of(AgentRun.testClasses()), how, loader,
        List.of(driverJar.toString()));
    String expectedLoader = loader.equals("child") ? "URLClassLoader(parent=system)"
        : "URLClassLoader(parent=platform)";
    assertThat(result.stdout()).contains("driver_loader=" + expectedLoader);
    if (loader.equals("isolated")) {
      assertThat(result.stderr()).contains("cannot see the agent jar");
    }
  }

  /**
   * Seeds a role with limit 1, holds its slot idle from another JVM, runs {@link CompatApp} with the agent, and
   * checks: the app got its connection, the audit line names the holder, the holder's session is gone, the MBean
   * counted one termination and one recovery, no secret leaked, the JVM printed no class-data-sharing warning.
   */
  static ForkedJvm.Result replaySeed(PostgresServer server, Path java, List<Path> classpath, String how,
      String loader, List<String> driverJars) throws Exception {
    return replaySeed(server, AgentRun.app().java(java).classpath(classpath), how, loader, driverJars);
  }

  /** {@link #replaySeed(PostgresServer, Path, List, String, String, List)} with a prepared run (JVM, class path). */
  static ForkedJvm.Result replaySeed(PostgresServer server, AgentRun run, String how, String loader,
      List<String> driverJars) throws Exception {
    try (Seed seed = TestDatabase.seed(server, 1);
        IdleHolder holder = IdleHolder.start(seed.url(), seed.role(), seed.rolePassword(), HoldState.IDLE,
            "forgotten-psql")) {
      IdleHolder.awaitSettled(server, 300, holder);
      List<String> args = new ArrayList<>(List.of(seed.url(), seed.role(), how, loader));
      args.addAll(driverJars);
      ForkedJvm.Result result = run.mainClass(CompatApp.class.getName()).terminating(seed)
          .property("compat.mbean", "true").run(args.toArray(new String[0]));
      System.out.println(result);

      assertThat(result.stdout()).as(result.toString()).contains("CONNECTED backend_pid=");
      assertThat(result.exitCode()).as(result.toString()).isZero();
      assertThat(result.stdout() + result.stderr()).as(result.toString())
          .contains("pg-reclaim AUDIT terminated pid=" + holder.backendPid() + " role=" + seed.role())
          .doesNotContain(seed.adminPassword())
          .doesNotContain("Sharing is only supported");
      assertThat(SeedScenarioIT.sessionExists(seed, holder.backendPid())).isFalse();
      assertMBeanAfterOneRecovery(result, holder.backendPid());
      return result;
    }
  }

  static void assertMBeanAfterOneRecovery(ForkedJvm.Result result, int victimPid) {
    assertThat(result.stdout()).as(result.toString())
        .contains("MBEAN Terminations=1\n")
        .contains("MBEAN Recoveries=1\n")
        .contains("MBEAN ReclaimsAttempted=1\n")
        .containsPattern("MBEAN RefusalsByKind=\\{[^}]*role=1[,}]")
        .containsPattern("MBEAN LastTermination=.*pid=" + victimPid + "\\b")
        .containsPattern("MBEAN EffectivePolicy=.*mode=terminate.*admin.password=\\*+");
  }

  static String javaName(Path java) {
    // .../<jdk dir>/bin/java
    return java.getParent().getParent().getFileName().toString();
  }
}
