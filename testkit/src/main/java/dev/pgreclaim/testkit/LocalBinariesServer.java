package dev.pgreclaim.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A throwaway cluster made with the PostgreSQL binaries installed on the machine (initdb + postgres as a direct
 * child process). As root, initdb and postgres run as the {@code postgres} OS user through {@code setpriv}, which
 * execs, so the {@link Process} held here is the postmaster itself.
 */
final class LocalBinariesServer implements PostgresServer {

  private static final Duration READY_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration STOP_TIMEOUT = Duration.ofSeconds(10);
  private static final String OS_USER = "postgres";

  private final Path binDir;
  private final boolean asRoot;
  private final Path baseDir;
  private final Path dataDir;
  private final Path socketDir;
  private final Path logFile;
  private final String password;
  private final Map<String, String> settings;
  private final Thread shutdownHook;
  private volatile int port;
  private volatile Process process;
  private boolean closed;

  private LocalBinariesServer(Path binDir, Map<String, String> settings) throws IOException {
    this.binDir = binDir;
    this.asRoot = Env.isRoot();
    this.settings = new LinkedHashMap<>();
    this.settings.put("listen_addresses", "127.0.0.1");
    this.settings.put("fsync", "off");
    this.settings.put("synchronous_commit", "off");
    this.settings.put("full_page_writes", "off");
    this.settings.put("max_connections", "100");
    this.settings.put("superuser_reserved_connections", "3");
    this.settings.putAll(settings);
    this.password = Env.randomAlnum(24);
    this.baseDir = Files.createTempDirectory("pgreclaim-pg");
    this.dataDir = baseDir.resolve("data");
    Path shortTmp = Path.of("/tmp");
    this.socketDir = Files.isDirectory(shortTmp) ? Files.createTempDirectory(shortTmp, "pgrs") : baseDir.resolve("s");
    Files.createDirectories(socketDir);
    this.settings.put("unix_socket_directories", socketDir.toString());
    this.logFile = baseDir.resolve("server.log");
    this.shutdownHook = new Thread(this::close, "pgreclaim-pg-stop");
  }

  /** Finds the binaries (see {@link #findBinDir()}), runs initdb and starts the server. */
  static LocalBinariesServer start(Map<String, String> settings) throws Exception {
    Path bin = findBinDir();
    if (Env.isRoot()) {
      if (!Env.osUserExists(OS_USER)) {
        throw new IllegalStateException("running as root, PostgreSQL refuses to run as root, and OS user '" + OS_USER
            + "' (used through setpriv) does not exist; create it or run the tests as a non-root user");
      }
      if (Env.which("setpriv").isEmpty()) {
        throw new IllegalStateException("running as root but 'setpriv' (util-linux) is not on PATH");
      }
    }
    LocalBinariesServer s = new LocalBinariesServer(bin, settings);
    try {
      s.initdb();
      s.startWithPortRetry();
      OptionalInt wanted = PgBinaries.requestedMajor();
      if (wanted.isPresent() && s.majorVersion() != wanted.getAsInt()) {
        throw new IllegalStateException(PgBinaries.MAJOR_PROPERTY + "=" + wanted.getAsInt() + " but " + bin
            + " runs PostgreSQL " + s.majorVersion());
      }
      Runtime.getRuntime().addShutdownHook(s.shutdownHook);
      return s;
    } catch (Exception | Error e) {
      s.closeQuietly();
      throw e;
    }
  }

  /**
   * System property {@code pgreclaim.test.pgbin}, else the major {@code pgreclaim.test.pgMajor} asks for
   * ({@link PgBinaries}), else the highest {@code /usr/lib/postgresql/N/bin}, else
   * {@code /usr/local/pgsql/bin}, else the folder of {@code initdb} on PATH.
   */
  static Path findBinDir() {
    String prop = System.getProperty("pgreclaim.test.pgbin");
    if (prop != null && !prop.isBlank()) {
      Path p = Path.of(prop);
      if (!hasBinaries(p)) {
        throw new IllegalStateException("pgreclaim.test.pgbin=" + prop + " has no executable initdb and postgres");
      }
      return p;
    }
    OptionalInt major = PgBinaries.requestedMajor();
    if (major.isPresent()) {
      return PgBinaries.binDir(major.getAsInt());
    }
    Path debian = Path.of("/usr/lib/postgresql");
    if (Files.isDirectory(debian)) {
      try (Stream<Path> dirs = Files.list(debian)) {
        Optional<Path> best = dirs
            .filter(d -> d.getFileName().toString().matches("\\d+(\\.\\d+)?"))
            .map(d -> d.resolve("bin"))
            .filter(LocalBinariesServer::hasBinaries)
            .max(Comparator.comparingDouble(d -> Double.parseDouble(d.getParent().getFileName().toString())));
        if (best.isPresent()) {
          return best.get();
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    Path usrLocal = Path.of("/usr/local/pgsql/bin");
    if (hasBinaries(usrLocal)) {
      return usrLocal;
    }
    Optional<Path> initdb = Env.which("initdb");
    if (initdb.isPresent() && hasBinaries(initdb.get().getParent())) {
      return initdb.get().getParent();
    }
    throw new IllegalStateException("no PostgreSQL binaries (initdb, postgres) in pgreclaim.test.pgbin, "
        + "/usr/lib/postgresql/*/bin, /usr/local/pgsql/bin or on PATH");
  }

  private static boolean hasBinaries(Path dir) {
    return Files.isExecutable(dir.resolve("initdb")) && Files.isExecutable(dir.resolve("postgres"));
  }

  private List<String> asServerUser(String... command) {
    List<String> cmd = new ArrayList<>();
    if (asRoot) {
      cmd.addAll(List.of("setpriv", "--reuid=" + OS_USER, "--regid=" + OS_USER, "--init-groups", "--"));
    }
    cmd.addAll(List.of(command));
    return cmd;
  }

  private void initdb() throws Exception {
    Path pwfile = baseDir.resolve("pwfile");
    Files.writeString(pwfile, password + "\n", StandardCharsets.UTF_8);
    // the server user must be able to enter the folders; as root everything is handed to it
    Files.setPosixFilePermissions(baseDir, PosixFilePermissions.fromString("rwx------"));
    Files.setPosixFilePermissions(socketDir, PosixFilePermissions.fromString("rwx------"));
    if (asRoot) {
      Env.run(Duration.ofSeconds(30), "chown", "-R", OS_USER + ":", baseDir.toString(), socketDir.toString());
    }
    Path initLog = baseDir.resolve("initdb.log");
    ProcessBuilder pb = new ProcessBuilder(asServerUser(binDir.resolve("initdb").toString(),
        "-D", dataDir.toString(), "-U", "postgres", "--auth=scram-sha-256", "--pwfile=" + pwfile,
        "--locale=C", "-E", "UTF8", "--no-sync"))
        .redirectErrorStream(true)
        .redirectOutput(initLog.toFile());
    pb.environment().put("LC_ALL", "C");
    Process p = pb.start();
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException("initdb did not finish in 60 s: " + Env.tail(initLog, 3000));
    }
    if (p.exitValue() != 0) {
      throw new IllegalStateException("initdb failed (exit " + p.exitValue() + "): " + Env.tail(initLog, 3000));
    }
    Files.deleteIfExists(pwfile);
  }

  private void startWithPortRetry() throws Exception {
    Exception last = null;
    for (int attempt = 0; attempt < 5; attempt++) {
      port = freePort();
      try {
        startServer();
        return;
      } catch (PortInUseException e) {
        last = e;
      }
    }
    throw new IllegalStateException("could not find a free port for PostgreSQL", last);
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      s.setReuseAddress(true);
      return s.getLocalPort();
    }
  }

  private static final class PortInUseException extends Exception {
    private static final long serialVersionUID = 1L;

    PortInUseException(String message) {
      super(message);
    }
  }

  private void startServer() throws Exception {
    List<String> cmd = new ArrayList<>(List.of(binDir.resolve("postgres").toString(),
        "-D", dataDir.toString(), "-p", Integer.toString(port)));
    settings.forEach((k, v) -> {
      cmd.add("-c");
      cmd.add(k + "=" + v);
    });
    ProcessBuilder pb = new ProcessBuilder(asServerUser(cmd.toArray(new String[0])))
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()));
    pb.environment().put("LC_ALL", "C");
    long logOffset = Files.exists(logFile) ? Files.size(logFile) : 0;
    process = pb.start();
    long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
    SQLException lastError = null;
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        String log = Env.readFrom(logFile, logOffset);
        if (log.contains("could not bind") || log.contains("Address already in use")) {
          throw new PortInUseException("port " + port + " in use: " + log);
        }
        throw new IllegalStateException("postgres exited with " + process.exitValue() + " during start-up; log:\n"
            + Env.lastChars(log, 4000));
      }
      try (Connection c = loginOnce()) {
        c.isValid(1);
        return;
      } catch (SQLException e) {
        lastError = e;
      }
      Thread.sleep(20);
    }
    String log = Env.readFrom(logFile, logOffset);
    stopProcess();
    throw new IllegalStateException("PostgreSQL on port " + port + " not ready after " + READY_TIMEOUT.toSeconds()
        + " s (last login error: " + lastError + "); log:\n" + Env.lastChars(log, 4000));
  }

  private Connection loginOnce() throws SQLException {
    Properties props = new Properties();
    props.setProperty("user", superuser());
    props.setProperty("password", password);
    props.setProperty("connectTimeout", "2");
    props.setProperty("socketTimeout", "5");
    return DriverManager.getConnection(jdbcUrl("postgres"), props);
  }

  /** SIGINT (fast shutdown), up to 10 s, then SIGKILL to the postmaster and whatever children it left. */
  private void stopProcess() {
    Process p = process;
    if (p == null) {
      return;
    }
    try {
      if (p.isAlive()) {
        List<ProcessHandle> children = p.descendants().toList();
        try {
          Env.run(Duration.ofSeconds(5), "kill", "-INT", Long.toString(p.pid()));
        } catch (Exception e) {
          // fall through to the forcible path
        }
        if (!p.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
          p.destroyForcibly();
          children.forEach(ProcessHandle::destroyForcibly);
          p.waitFor(5, TimeUnit.SECONDS);
        }
        for (ProcessHandle child : children) {
          try {
            child.onExit().get(5, TimeUnit.SECONDS);
          } catch (Exception e) {
            child.destroyForcibly();
          }
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      p.destroyForcibly();
    } finally {
      process = null;
    }
  }

  @Override
  public synchronized void restart() throws Exception {
    if (closed) {
      throw new IllegalStateException("server is closed");
    }
    stopProcess();
    Files.deleteIfExists(dataDir.resolve("postmaster.pid"));
    try {
      startServer();
    } catch (PortInUseException e) {
      throw new IllegalStateException("cannot restart: port " + port + " was taken meanwhile", e);
    }
  }

  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    stopProcess();
    Env.deleteRecursively(baseDir);
    Env.deleteRecursively(socketDir);
    if (Thread.currentThread() != shutdownHook) {
      try {
        Runtime.getRuntime().removeShutdownHook(shutdownHook);
      } catch (IllegalStateException | IllegalArgumentException e) {
        // shutting down already, or never registered
      }
    }
  }

  private void closeQuietly() {
    try {
      close();
    } catch (RuntimeException e) {
      // best effort
    }
  }

  /** The postmaster's pid, or -1 when it is not running (for fault tests). */
  public long serverPid() {
    Process p = process;
    return p != null && p.isAlive() ? p.pid() : -1;
  }

  /** The folder holding the data directory and server.log. */
  public Path dataDirectory() {
    return dataDir;
  }

  public Path logFile() {
    return logFile;
  }

  @Override
  public String kind() {
    return "local-binaries";
  }

  @Override
  public String host() {
    return "127.0.0.1";
  }

  @Override
  public int port() {
    return port;
  }

  @Override
  public String superuser() {
    return "postgres";
  }

  @Override
  public String superuserPassword() {
    return password;
  }

  @Override
  public boolean canRestart() {
    return true;
  }

  @Override
  public String toString() {
    return "local-binaries PostgreSQL " + binDir + " on 127.0.0.1:" + port + " (" + dataDir + ")";
  }
}
