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
import java.util.function.IntConsumer;

/**
 * One forked JVM of a benchmark. Output goes to files (no reader threads in the bench JVM competing with the child
 * for the two cores); the wall time is taken around start and exit. The child's environment is the parent's minus
 * what would change the measured JVM behind the bench's back ({@code PGRECLAIM_*}, {@code JAVA_TOOL_OPTIONS} and
 * the like), plus what the figure sets.
 */
final class Child {
    /** Variables never passed on from the bench's own environment. */
    private static final List<String> DROPPED_ENV = List.of("JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS", "_JAVA_OPTIONS",
            "CLASSPATH");

    record Result(int exitCode, String stdout, String stderr, long wallNanos, long peakRssKib, long cpuMillis) {
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
    private IntConsumer progress;

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

    /** Runs the JVM under {@code /usr/bin/time} to read its peak RSS (KiB) and CPU time (user + system) after exit. */
    Child measureRss() {
        measureRss = true;
        return this;
    }

    /** While the child runs, the last {@code PROGRESS n} line it printed on stdout goes to the listener. */
    Child onProgress(IntConsumer listener) {
        progress = listener;
        return this;
    }

    static boolean gnuTimeAvailable() {
        return Files.isExecutable(Path.of("/usr/bin/time"));
    }

    Result run() {
        return start().await();
    }

    /** Starts the child; {@link Running#await()} waits for it and reads its output. */
    Running start() {
        Path dir = null;
        try {
            dir = Files.createTempDirectory("pgreclaim-bench-child");
            List<String> full = new ArrayList<>();
            if (measureRss) {
                full.addAll(List.of("/usr/bin/time", "-f", "%M %U %S", "-o", dir.resolve("rss").toString()));
            }
            full.addAll(command);
            ProcessBuilder builder = new ProcessBuilder(full).redirectOutput(dir.resolve("stdout").toFile())
                    .redirectError(dir.resolve("stderr").toFile()).redirectInput(ProcessBuilder.Redirect.PIPE);
            builder.environment().keySet().removeIf(key -> key.startsWith("PGRECLAIM_") || DROPPED_ENV.contains(key));
            builder.environment().putAll(env);
            long start = System.nanoTime();
            Process process = builder.start();
            process.getOutputStream().close();
            return new Running(process, full, dir, start);
        } catch (IOException e) {
            deleteQuietly(dir);
            throw new IllegalStateException("cannot run " + command, e);
        }
    }

    /** A started child. */
    final class Running {
        private final Process process;
        private final List<String> full;
        private final Path dir;
        private final long start;

        private Running(Process process, List<String> full, Path dir, long start) {
            this.process = process;
            this.full = full;
            this.dir = dir;
            this.start = start;
        }

        /** What the child has printed on stdout so far. */
        String stdoutSoFar() {
            try {
                return read(dir.resolve("stdout"));
            } catch (IOException e) {
                return "";
            }
        }

        /** What the child has printed on stderr so far. */
        String stderrSoFar() {
            try {
                return read(dir.resolve("stderr"));
            } catch (IOException e) {
                return "";
            }
        }

        boolean isAlive() {
            return process.isAlive();
        }

        void kill() {
            process.destroyForcibly();
        }

        Result await() {
            try {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
                int reported = -1;
                while (!process.waitFor(progress == null ? 1000 : 500, TimeUnit.MILLISECONDS)) {
                    if (System.nanoTime() > deadline) {
                        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                        throw new IllegalStateException("child did not exit within " + timeoutSeconds + " s: "
                                + full + "\n--- stdout ---\n" + read(dir.resolve("stdout")) + "\n--- stderr ---\n"
                                + read(dir.resolve("stderr")));
                    }
                    if (progress != null) {
                        int done = lastProgress(stdoutSoFar());
                        if (done > reported) {
                            reported = done;
                            progress.accept(done);
                        }
                    }
                }
                long wall = System.nanoTime() - start;
                long peak = -1;
                long cpu = -1;
                if (measureRss) {
                    String[] lines = read(dir.resolve("rss")).trim().split("\n");
                    String[] fields = lines[lines.length - 1].trim().split(" ");
                    peak = Long.parseLong(fields[0]);
                    cpu = Math.round((Double.parseDouble(fields[1]) + Double.parseDouble(fields[2])) * 1000);
                }
                return new Result(process.exitValue(), read(dir.resolve("stdout")), read(dir.resolve("stderr")),
                        wall, peak, cpu);
            } catch (IOException e) {
                throw new IllegalStateException("cannot read the output of " + command, e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                process.destroyForcibly();
                throw new IllegalStateException("interrupted", e);
            } finally {
                deleteQuietly(dir);
            }
        }
    }

    private static int lastProgress(String stdout) {
        int at = stdout.lastIndexOf("PROGRESS ");
        if (at < 0 || (at > 0 && stdout.charAt(at - 1) != '\n')) {
            return -1;
        }
        int end = stdout.indexOf('\n', at);
        if (end < 0) {
            return -1;
        }
        try {
            return Integer.parseInt(stdout.substring(at + 9, end).trim());
        } catch (NumberFormatException e) {
            return -1;
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
