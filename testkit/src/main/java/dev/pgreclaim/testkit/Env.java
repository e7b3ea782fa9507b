package dev.pgreclaim.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/** Small process and file helpers shared by the testkit. */
final class Env {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final String ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  private static final String LOWER = "abcdefghijklmnopqrstuvwxyz";

  private Env() {}

  static String randomAlnum(int n) {
    return random(ALNUM, n);
  }

  static String randomLower(int n) {
    return random(LOWER, n);
  }

  private static String random(String alphabet, int n) {
    StringBuilder sb = new StringBuilder(n);
    for (int i = 0; i < n; i++) {
      sb.append(alphabet.charAt(RANDOM.nextInt(alphabet.length())));
    }
    return sb.toString();
  }

  /** uid 0 according to /proc/self/status, or user.name "root" where /proc is missing. */
  static boolean isRoot() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("Uid:")) {
          String[] f = line.substring(4).trim().split("\\s+");
          return "0".equals(f[1]); // effective uid
        }
      }
    } catch (IOException | RuntimeException e) {
      // fall back below
    }
    return "root".equals(System.getProperty("user.name"));
  }

  static boolean osUserExists(String user) {
    try {
      return run(Duration.ofSeconds(10), "id", "-u", user).exitCode == 0;
    } catch (Exception e) {
      return false;
    }
  }

  static Optional<Path> which(String name) {
    String path = System.getenv("PATH");
    if (path == null) {
      return Optional.empty();
    }
    for (String dir : path.split(java.io.File.pathSeparator)) {
      if (dir.isEmpty()) {
        continue;
      }
      Path p = Path.of(dir, name);
      if (Files.isRegularFile(p) && Files.isExecutable(p)) {
        return Optional.of(p);
      }
    }
    return Optional.empty();
  }

  record Output(int exitCode, String text) {}

  /** Runs a short command, output and error merged; throws when it does not end in time. */
  static Output run(Duration timeout, String... command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    p.getOutputStream().close();
    byte[][] out = new byte[1][];
    Thread reader = new Thread(() -> {
      try (InputStream in = p.getInputStream()) {
        out[0] = in.readAllBytes();
      } catch (IOException e) {
        out[0] = new byte[0];
      }
    });
    reader.setDaemon(true);
    reader.start();
    if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      p.destroyForcibly();
      throw new IOException(String.join(" ", command) + " did not finish in " + timeout);
    }
    reader.join(5000);
    return new Output(p.exitValue(), out[0] == null ? "" : new String(out[0], StandardCharsets.UTF_8));
  }

  static String readFrom(Path file, long offset) {
    try {
      byte[] all = Files.readAllBytes(file);
      int from = (int) Math.min(Math.max(0, offset), all.length);
      return new String(all, from, all.length - from, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "(cannot read " + file + ": " + e + ")";
    }
  }

  static String tail(Path file, int chars) {
    return lastChars(readFrom(file, 0), chars);
  }

  static String lastChars(String s, int chars) {
    return s.length() <= chars ? s : "..." + s.substring(s.length() - chars);
  }

  static void deleteRecursively(Path root) {
    if (root == null || !Files.exists(root)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(root)) {
      List<Path> paths = walk.sorted(Comparator.reverseOrder()).toList();
      for (Path p : paths) {
        try {
          Files.deleteIfExists(p);
        } catch (IOException e) {
          // best effort
        }
      }
    } catch (IOException e) {
      // best effort
    }
  }
}
