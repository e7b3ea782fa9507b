package dev.pgreclaim.it;

import dev.pgreclaim.testkit.ForkedJvm;
import dev.pgreclaim.testkit.TestDatabase.Seed;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Starts {@link ConnectApp} (or another main) in a forked JVM with {@code -javaagent:} on the packaged agent jar. */
public final class AgentRun {
  private final List<String> jvmArgs = new ArrayList<>();
  private final Map<String, String> env = new LinkedHashMap<>();
  private final List<Path> classpath = new ArrayList<>();
  private Path java = ForkedJvm.currentJava();
  private boolean agent = true;
  private String agentArgs;
  private String mainClass = ConnectApp.class.getName();

  private AgentRun() {}

  /** Flat class path: test classes + pgjdbc 42.7. */
  public static AgentRun app() {
    AgentRun run = new AgentRun();
    run.classpath.add(testClasses());
    run.classpath.add(appLib("postgresql-42.7.jar"));
    return run;
  }

  public static Path agentJar() {
    Path jar = Path.of(System.getProperty("pgreclaim.test.agentJar", "target/pg-reclaim-agent.jar"));
    if (!Files.isRegularFile(jar)) {
      throw new IllegalStateException("agent jar not built: " + jar.toAbsolutePath() + " (run mvn verify)");
    }
    return jar.toAbsolutePath();
  }

  public static Path testClasses() {
    return Path.of(System.getProperty("pgreclaim.test.testClasses", "target/test-classes")).toAbsolutePath();
  }

  public static Path appLib(String name) {
    Path lib = Path.of(System.getProperty("pgreclaim.test.appLibs", "target/app-libs"), name).toAbsolutePath();
    if (!Files.isRegularFile(lib)) {
      throw new IllegalStateException("missing test application jar " + lib);
    }
    return lib;
  }

  public AgentRun withoutAgent() {
    agent = false;
    return this;
  }

  public AgentRun agentArgs(String args) {
    agentArgs = args;
    return this;
  }

  public AgentRun java(Path binary) {
    java = binary;
    return this;
  }

  public AgentRun classpath(List<Path> entries) {
    classpath.clear();
    classpath.addAll(entries);
    return this;
  }

  public AgentRun mainClass(String name) {
    mainClass = name;
    return this;
  }

  public AgentRun property(String key, String value) {
    jvmArgs.add("-D" + key + "=" + value);
    return this;
  }

  public AgentRun jvmArg(String arg) {
    jvmArgs.add(arg);
    return this;
  }

  public AgentRun env(String key, String value) {
    env.put(key, value);
    return this;
  }

  /** terminate mode with the seed's admin role; password via the environment twin; min-idle 200ms. */
  public AgentRun terminating(Seed seed) {
    return property("pgreclaim.mode", "terminate")
        .property("pgreclaim.admin.user", seed.admin())
        .property("pgreclaim.min-idle", "200ms")
        .env("PGRECLAIM_ADMIN_PASSWORD", seed.adminPassword())
        .env("APP_PASSWORD", seed.rolePassword());
  }

  public ForkedJvm.Builder builder(String... args) {
    ForkedJvm.Builder builder = ForkedJvm.builder().javaBinary(java).classpath(classpath).mainClass(mainClass)
        .args(args).timeout(Duration.ofSeconds(60));
    if (agent) {
      builder.jvmArg("-javaagent:" + agentJar() + (agentArgs == null ? "" : "=" + agentArgs));
    }
    for (String arg : jvmArgs) {
      builder.jvmArg(arg);
    }
    env.forEach(builder::env);
    return builder;
  }

  public ForkedJvm.Result run(String... args) {
    return builder(args).run();
  }
}
