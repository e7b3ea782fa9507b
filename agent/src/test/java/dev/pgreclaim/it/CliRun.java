package dev.pgreclaim.it;

import dev.pgreclaim.testkit.ForkedJvm;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs {@code java -jar pg-reclaim-agent.jar <args>} as a separate process, as an operator would. */
public final class CliRun {
  private final Map<String, String> env = new LinkedHashMap<>();

  private CliRun() {}

  public static CliRun cli() {
    return new CliRun();
  }

  public CliRun env(String key, String value) {
    env.put(key, value);
    return this;
  }

  public ForkedJvm.Result run(String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(ForkedJvm.currentJava().toString());
    command.add("-XX:TieredStopAtLevel=1");
    command.add("-jar");
    command.add(AgentRun.agentJar().toString());
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command);
    // a clean environment: no password, PGRECLAIM_* or JAVA_TOOL_OPTIONS from the test JVM's, only what the test sets
    Map<String, String> childEnv = ForkedJvm.childEnvironment(System.getenv(), env);
    builder.environment().clear();
    builder.environment().putAll(childEnv);
    Path out = Files.createTempFile("pg-reclaim-cli-", ".out");
    Path err = Files.createTempFile("pg-reclaim-cli-", ".err");
    builder.redirectOutput(out.toFile()).redirectError(err.toFile()).redirectInput(ProcessBuilder.Redirect.PIPE);
    Process process = builder.start();
    process.getOutputStream().close();
    try {
      if (!process.waitFor(60, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        throw new IllegalStateException("CLI did not exit within 60 s: " + command + "\n" + Files.readString(err));
      }
      ForkedJvm.Result result = new ForkedJvm.Result(process.exitValue(),
          Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
      System.out.println("$ pg-reclaim " + String.join(" ", args) + "\n" + result.stdout() + result.stderr()
          + "(exit " + result.exitCode() + ")");
      return result;
    } finally {
      Files.deleteIfExists(out);
      Files.deleteIfExists(err);
    }
  }
}
