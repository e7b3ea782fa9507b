package dev.pgreclaim.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgreclaim.testkit.ForkedJvm;
import dev.pgreclaim.testkit.PostgresServer;
import dev.pgreclaim.testkit.PostgresTest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Where the agent's lines land, in the seed scenario: in the application's own logging when it has SLF4J with a
 * binding (SLF4J 2 + logback 1.5, SLF4J 1.7 + slf4j-simple), on stderr in the compact form when it has SLF4J without
 * a binding; and the application always keeps its own SLF4J (the agent ships none). The "no SLF4J at all" case is
 * asserted by {@link CompatibilityIT}'s DriverManager cells.
 */
@PostgresTest
class LoggingIT {
  private static final String MARKER = "LOGBACK-MARK";

  @TempDir
  Path dir;

  @Test
  void logbackGetsThePolicyAndAuditLinesWhenTheAppStartedItsLoggingFirst(PostgresServer server) throws Exception {
    ForkedJvm.Result result = CompatibilityIT.replaySeed(server, logbackApp().property("compat.slf4j", "true"),
        "drivermanager", "flat", List.of());

    assertThat(result.stdout()).contains(MARKER + "|INFO|compat.app|application line before the open")
        .containsPattern("APP_SLF4J from=file:\\S*/app-libs/slf4j-api\\.jar\n");
    assertLogbackGotTheAgentLines(result);
  }

  @Test
  void logbackGetsTheLinesWhenTheAgentIsFirstToTouchSlf4j(PostgresServer server) throws Exception {
    // the driver loads (and the agent logs its policy) before the application has used SLF4J
    ForkedJvm.Result result = CompatibilityIT.replaySeed(server, logbackApp(), "drivermanager", "flat", List.of());

    assertLogbackGotTheAgentLines(result);
  }

  @Test
  void slf4j17WithABindingGetsTheLines(PostgresServer server) throws Exception {
    AgentRun run = AgentRun.app().classpath(List.of(AgentRun.testClasses(), AgentRun.appLib("postgresql-42.7.jar"),
            AgentRun.appLib("slf4j-api-1.7.jar"), AgentRun.appLib("slf4j-simple-1.7.jar")))
        .property("org.slf4j.simpleLogger.logFile", "System.out")
        .property("org.slf4j.simpleLogger.showThreadName", "false")
        .property("compat.slf4j", "true");

    ForkedJvm.Result result = CompatibilityIT.replaySeed(server, run, "drivermanager", "flat", List.of());

    assertThat(result.stdout()).containsPattern("APP_SLF4J from=file:\\S*/app-libs/slf4j-api-1\\.7\\.jar\n")
        .contains("INFO compat.app - application line before the open")
        .contains("INFO dev.pgreclaim - pg-reclaim: active on org.postgresql.Driver")
        .contains("WARN dev.pgreclaim.audit - pg-reclaim AUDIT terminated pid=");
    assertThat(result.stderr()).doesNotContain("[pg-reclaim]");
  }

  @Test
  void slf4j17WithoutABindingFallsBackToCompactStderrLines(PostgresServer server) throws Exception {
    AgentRun run = AgentRun.app().classpath(List.of(AgentRun.testClasses(), AgentRun.appLib("postgresql-42.7.jar"),
            AgentRun.appLib("slf4j-api-1.7.jar")))
        .property("compat.slf4j", "true");

    ForkedJvm.Result result = CompatibilityIT.replaySeed(server, run, "drivermanager", "flat", List.of());

    assertThat(result.stdout()).containsPattern("APP_SLF4J from=file:\\S*/app-libs/slf4j-api-1\\.7\\.jar\n");
    assertThat(result.stderr())
        .containsPattern("(?m)^\\[pg-reclaim\\] INFO active on org.postgresql.Driver")
        .containsPattern("(?m)^\\[pg-reclaim\\] WARN pg-reclaim AUDIT terminated pid=");
  }

  private AgentRun logbackApp() throws Exception {
    Path config = dir.resolve("logback.xml");
    Files.writeString(config, """
        <configuration>
          <appender name="OUT" class="ch.qos.logback.core.ConsoleAppender">
            <encoder><pattern>%s|%%level|%%logger|%%msg%%n</pattern></encoder>
          </appender>
          <root level="INFO"><appender-ref ref="OUT"/></root>
        </configuration>
        """.formatted(MARKER));
    List<Path> classpath = new ArrayList<>(List.of(AgentRun.testClasses(), AgentRun.appLib("postgresql-42.7.jar"),
        AgentRun.appLib("slf4j-api.jar"), AgentRun.appLib("logback-classic.jar"),
        AgentRun.appLib("logback-core.jar")));
    return AgentRun.app().classpath(classpath).property("logback.configurationFile", config.toString());
  }

  private static void assertLogbackGotTheAgentLines(ForkedJvm.Result result) {
    assertThat(result.stdout()).as(result.toString())
        .contains(MARKER + "|INFO|dev.pgreclaim|pg-reclaim: active on org.postgresql.Driver")
        .contains(MARKER + "|WARN|dev.pgreclaim.audit|pg-reclaim AUDIT terminated pid=");
    assertThat(result.stderr()).as(result.toString()).doesNotContain("[pg-reclaim]");
  }
}
