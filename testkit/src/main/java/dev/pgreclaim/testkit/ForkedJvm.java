package dev.pgreclaim.testkit;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/** Runs another JVM and captures its output (read on background threads, so pipes never fill up). */
public final class ForkedJvm {

  private ForkedJvm() {}

  public record Result(int exitCode, String stdout, String stderr) {}

  public static Builder builder() {
    return new Builder();
  }

  /**
   * What a forked JVM inherits from this one's environment: only these. A developer's {@code PGRECLAIM_*} (the agent's
   * environment twins), {@code JAVA_TOOL_OPTIONS}, {@code JDK_JAVA_OPTIONS}, {@code _JAVA_OPTIONS}, {@code CI} or
   * {@code PGRECLAIM_TEST_*} would otherwise change what the child does; a test passes what it needs explicitly.
   */
  public static final List<String> INHERITED = List.of("PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL",
      "LC_CTYPE", "TZ", "TMPDIR");

  /** The child's whole environment: the {@link #INHERITED} variables this JVM has, then the explicit ones. */
  public static Map<String, String> childEnvironment(Map<String, String> parent, Map<String, String> explicit) {
    Map<String, String> child = new LinkedHashMap<>();
    for (String name : INHERITED) {
      String value = parent.get(name);
      if (value != null) {
        child.put(name, value);
      }
    }
    child.putAll(explicit);
    return child;
  }

  /** The current JVM's {@code java}. */
  public static Path currentJava() {
    return Path.of(System.getProperty("java.home"), "bin", "java");
  }

  /**
   * The java binaries the compatibility tests run: {@code pgreclaim.test.javas} (comma-separated) when set, else the
   * current JVM's plus {@code /usr/lib/jvm/temurin-25*}{@code /bin/java} when present.
   */
  public static List<Path> javaBinaries() {
    String prop = System.getProperty("pgreclaim.test.javas");
    if (prop != null && !prop.isBlank()) {
      return Arrays.stream(prop.split(",")).map(String::trim).filter(s -> !s.isEmpty()).map(Path::of).toList();
    }
    List<Path> result = new ArrayList<>();
    result.add(currentJava());
    Path jvmDir = Path.of("/usr/lib/jvm");
    if (Files.isDirectory(jvmDir)) {
      try (Stream<Path> dirs = Files.list(jvmDir)) {
        dirs.filter(d -> d.getFileName().toString().startsWith("temurin-25"))
            .sorted()
            .map(d -> d.resolve("bin").resolve("java"))
            .filter(Files::isExecutable)
            .filter(j -> !sameFile(j, currentJava()))
            .forEach(result::add);
      } catch (IOException e) {
        // only the current JVM then
      }
    }
    return result;
  }

  private static boolean sameFile(Path a, Path b) {
    try {
      return a.toRealPath().equals(b.toRealPath());
    } catch (IOException e) {
      return false;
    }
  }

  public static final class Builder {
    private Path javaBinary = currentJava();
    private List<Path> classpath;
    private String mainClass;
    private final List<String> args = new ArrayList<>();
    private final List<String> jvmArgs = new ArrayList<>();
    private final Map<String, String> systemProperties = new LinkedHashMap<>();
    private final Map<String, String> env = new LinkedHashMap<>();
    private Duration timeout = Duration.ofSeconds(60);
    private Path workingDirectory;

    public Builder javaBinary(Path path) {
      this.javaBinary = path;
      return this;
    }

    /** Defaults to this JVM's {@code java.class.path}. */
    public Builder classpath(List<Path> entries) {
      this.classpath = List.copyOf(entries);
      return this;
    }

    public Builder mainClass(String mainClass) {
      this.mainClass = mainClass;
      return this;
    }

    public Builder args(String... args) {
      this.args.addAll(List.of(args));
      return this;
    }

    public Builder jvmArg(String arg) {
      this.jvmArgs.add(arg);
      return this;
    }

    public Builder systemProperty(String key, String value) {
      this.systemProperties.put(key, value);
      return this;
    }

    public Builder env(String key, String value) {
      this.env.put(key, value);
      return this;
    }

    /** For {@link #run()}; default 60 s. */
    public Builder timeout(Duration timeout) {
      this.timeout = timeout;
      return this;
    }

    public Builder workingDirectory(Path dir) {
      this.workingDirectory = dir;
      return this;
    }

    public List<String> command() {
      if (mainClass == null) {
        throw new IllegalStateException("mainClass not set");
      }
      List<String> cmd = new ArrayList<>();
      cmd.add(javaBinary.toString());
      cmd.addAll(jvmArgs);
      systemProperties.forEach((k, v) -> cmd.add("-D" + k + "=" + v));
      cmd.add("-cp");
      cmd.add(classpath == null
          ? System.getProperty("java.class.path")
          : classpath.stream().map(Path::toString).collect(Collectors.joining(java.io.File.pathSeparator)));
      cmd.add(mainClass);
      cmd.addAll(args);
      return cmd;
    }

    public Handle start() {
      ProcessBuilder pb = new ProcessBuilder(command());
      Map<String, String> childEnv = childEnvironment(System.getenv(), env);
      pb.environment().clear();
      pb.environment().putAll(childEnv);
      if (workingDirectory != null) {
        pb.directory(workingDirectory.toFile());
      }
      try {
        return new Handle(pb.start(), String.join(" ", pb.command()));
      } catch (IOException e) {
        throw new IllegalStateException("cannot start " + pb.command(), e);
      }
    }

    /** Starts, waits up to the timeout (then kills it and throws, with the output so far), returns the result. */
    public Result run() {
      Handle h = start();
      try {
        return h.waitFor(timeout);
      } catch (IllegalStateException e) {
        h.destroy();
        throw e;
      }
    }
  }

  public static final class Handle implements AutoCloseable {
    private final Process process;
    private final String commandLine;
    private final StringBuffer stdout = new StringBuffer();
    private final StringBuffer stderr = new StringBuffer();
    private final Thread outReader;
    private final Thread errReader;
    private final BufferedWriter stdin;

    Handle(Process process, String commandLine) {
      this.process = process;
      this.commandLine = commandLine;
      this.outReader = pump(process.getInputStream(), stdout, "forked-jvm-stdout-" + process.pid());
      this.errReader = pump(process.getErrorStream(), stderr, "forked-jvm-stderr-" + process.pid());
      this.stdin = new BufferedWriter(new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8));
    }

    private static Thread pump(InputStream in, StringBuffer sink, String name) {
      Thread t = new Thread(() -> {
        try (Reader r = new InputStreamReader(in, StandardCharsets.UTF_8)) {
          char[] buf = new char[4096];
          int n;
          while ((n = r.read(buf)) >= 0) {
            sink.append(buf, 0, n);
          }
        } catch (IOException e) {
          // process gone
        }
      }, name);
      t.setDaemon(true);
      t.start();
      return t;
    }

    public long pid() {
      return process.pid();
    }

    public Process process() {
      return process;
    }

    public boolean isAlive() {
      return process.isAlive();
    }

    /** Standard output so far. */
    public String stdout() {
      return stdout.toString();
    }

    /** Standard error so far. */
    public String stderr() {
      return stderr.toString();
    }

    /** Writes one line to the process's standard input (and flushes). */
    public void writeLine(String line) throws IOException {
      stdin.write(line);
      stdin.newLine();
      stdin.flush();
    }

    public void closeStdin() {
      try {
        stdin.close();
      } catch (IOException e) {
        // already closed
      }
    }

    /** Waits for the exit and the end of its output; throws IllegalStateException (process left running) on timeout. */
    public Result waitFor(Duration timeout) {
      try {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
          throw new IllegalStateException("forked JVM did not exit within " + timeout + ": " + commandLine
              + "\n--- stdout ---\n" + stdout() + "\n--- stderr ---\n" + stderr());
        }
        outReader.join(5000);
        errReader.join(5000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted", e);
      }
      return new Result(process.exitValue(), stdout(), stderr());
    }

    /** SIGTERM, up to 5 s, then SIGKILL. */
    public void destroy() {
      process.destroy();
      try {
        if (!process.waitFor(5, TimeUnit.SECONDS)) {
          process.destroyForcibly();
          process.waitFor(5, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        process.destroyForcibly();
      }
    }

    @Override
    public void close() {
      if (process.isAlive()) {
        destroy();
      }
    }

    @Override
    public String toString() {
      return "pid " + pid() + ": " + commandLine;
    }
  }
}
