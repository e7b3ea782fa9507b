package dev.pgreclaim.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Forked JVMs get a clean, explicit environment: nothing of a developer's shell changes what they do. */
@Timeout(value = 2, unit = java.util.concurrent.TimeUnit.MINUTES)
class ForkedJvmTest {

  @Test
  void onlyTheWhitelistAndTheExplicitVariablesReachTheChild() {
    Map<String, String> shell = Map.of("PATH", "/usr/bin", "HOME", "/home/dev", "TZ", "UTC",
        "PGRECLAIM_MODE", "observe", "PGRECLAIM_ADMIN_PASSWORD", "from-the-shell",
        "JAVA_TOOL_OPTIONS", "-javaagent:/elsewhere.jar", "_JAVA_OPTIONS", "-Xmx1m", "JDK_JAVA_OPTIONS", "-Dx=y",
        "CI", "true");
    Map<String, String> child = ForkedJvm.childEnvironment(shell,
        Map.of("PGRECLAIM_ADMIN_PASSWORD", "given-by-the-test", "APP_PASSWORD", "app"));

    assertThat(child).containsOnly(Map.entry("PATH", "/usr/bin"), Map.entry("HOME", "/home/dev"),
        Map.entry("TZ", "UTC"), Map.entry("PGRECLAIM_ADMIN_PASSWORD", "given-by-the-test"),
        Map.entry("APP_PASSWORD", "app"));
  }

  @Test
  void aRealChildSeesNothingElse() {
    ForkedJvm.Result result = ForkedJvm.builder().mainClass(EnvProbe.class.getName()).env("PROBE_GIVEN", "1")
        .timeout(Duration.ofSeconds(60)).run();

    assertThat(result.exitCode()).as(result.toString()).isZero();
    List<String> names = new ArrayList<>();
    for (String line : result.stdout().split("\n")) {
      if (line.startsWith("ENV ")) {
        names.add(line.substring(4).trim());
      }
    }
    List<String> allowed = new ArrayList<>(ForkedJvm.INHERITED);
    allowed.add("PROBE_GIVEN");
    assertThat(names).contains("PROBE_GIVEN").isSubsetOf(allowed);
    // this JVM's own environment has more than that (else the check above could not fail)
    assertThat(System.getenv().keySet()).as("this JVM's environment").isNotEmpty()
        .anyMatch(name -> !allowed.contains(name));
  }
}
