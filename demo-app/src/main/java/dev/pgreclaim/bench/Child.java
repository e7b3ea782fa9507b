package dev.pgreclaim.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One forked JVM of a benchmark. Output goes to files (no reader threads in the bench JVM competing with the child
 * for the two cores); the wall time is taken around start and exit.
 */
final class Child {
    record Result(int exitCode, String stdout, String stderr, long wallNanos, long peakRssKib) {
        Result requireSuccess(String what) {
            if (exitCode != 0) {
                throw new IllegalStateException(what + " exited with " + exitCode + "\n--- stdout ---\n" + stdout
                        + "\n--- stderr ---\n" + stderr);
            }
            return this;
        }
    }

    private final List<String> command = new ArrayList<>();
    private final Map<String, String> env = new LinkedHashMap<>();
    private long timeoutSeconds = 300;
    private boolean measureRss;

    Child(Path java) {
        command.add(java.toString());
    }

    Child arg(String arg) {
        command.add(arg);
        return this;
    }

    Child args(List<String> args) {
        command.addAll(args);
        return this;
    }

    Child env(String key, String value) {
        env.put(key, value);
        return this;
    }

    Child timeoutSeconds(long seconds) {
        timeoutSeconds = seconds;
        return this;
    }

    /** Runs the JVM under {@code /usr/bin/time -f %M} to read its peak RSS (KiB) after exit. */
    Child measureRss() {
        measureRss = true;
        return this;
    }

    static boolean gnuTimeAvailable() {
        return Files.isExecutable(Path.of("/usr/bin/time"));
    }

    Result run() {
        Path dir = null;
        try {
            dir = Files.createTempDirectory("pgreclaim-bench-child");
            Path out = dir.resolve("stdout");
            Path err = dir.resolve("stderr");
            Path rss = dir.resolve("rss");
            List<String> full = new ArrayList<>();
            if (measureRss) {
                full.addAll(List.of("/usr/bin/time", "-f", "%M", "-o", rss.toString()));
            }
            full.addAll(command);
            ProcessBuilder builder = new ProcessBuilder(full).redirectOutput(out.toFile()).redirectError(err.toFile())
                    .redirectInput(ProcessBuilder.Redirect.PIPE);
            builder.environment().putAll(env);
            long start = System.nanoTime();
            Process process = builder.start();
            process.getOutputStream().close();
            if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                throw new IllegalStateException("child did not exit within " + timeoutSeconds + " s: " + full
                        + "\n--- stdout ---\n" + read(out) + "\n--- stderr ---\n" + read(err));
            }
            long wall = System.nanoTime() - start;
            long peak = -1;
            if (measureRss) {
                String text = read(rss).trim();
                String[] lines = text.split("\n");
                peak = Long.parseLong(lines[lines.length - 1].trim());
            }
            return new Result(process.exitValue(), read(out), read(err), wall, peak);
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + command, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } finally {
            deleteQuietly(dir);
        }
    }

    private static String read(Path file) throws IOException {
        return Files.isRegularFile(file) ? Files.readString(file, StandardCharsets.UTF_8) : "";
    }

    private static void deleteQuietly(Path dir) {
        if (dir == null) {
            return;
        }
        try (var entries = Files.list(dir)) {
            for (Path entry : (Iterable<Path>) entries::iterator) {
                Files.deleteIfExists(entry);
            }
            Files.deleteIfExists(dir);
        } catch (IOException ignored) {
            // a temp folder left behind
        }
    }
}
