package dev.pgreclaim.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Piped output gets no colour codes, even with {@code TERM} set, on Java 22+ where {@code System.console()} is non-null
 * whatever stdout is. Needs a Java 22+ to mean anything (on 17 the console is null when piped): under CI its absence
 * fails the test.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class NarratorColourTest {

    @Test
    void pipedOutputGetsNoColourEvenWithTermSetOnJava22AndLater() throws Exception {
        List<Path> javas = javasFrom22();
        if (javas.isEmpty() && "true".equalsIgnoreCase(System.getenv("CI"))) {
            throw new AssertionError("no Java 22+ found (/usr/lib/jvm/temurin-25*, or pgreclaim.test.javas)");
        }
        Assumptions.assumeFalse(javas.isEmpty(), "no Java 22+ to run on");
        for (Path java : javas) {
            assertThat(probe(java, "xterm-256color")).as(java.toString()).isEqualTo("colour=false");
        }
    }

    private static String probe(Path java, String term) throws IOException, InterruptedException {
        ProcessBuilder builder = new ProcessBuilder(java.toString(), "-cp", System.getProperty("java.class.path"),
                ColourProbe.class.getName());
        builder.environment().clear();
        builder.environment().put("PATH", System.getenv().getOrDefault("PATH", "/usr/bin:/bin"));
        builder.environment().put("TERM", term);
        builder.redirectErrorStream(true);
        Process process = builder.start();
        process.getOutputStream().close();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return output;
    }

    /** The configured Javas ({@code pgreclaim.test.javas}) or the Temurin 25 installs, from feature version 22. */
    private static List<Path> javasFrom22() throws IOException {
        List<Path> candidates = new ArrayList<>();
        String configured = System.getProperty("pgreclaim.test.javas");
        if (configured != null && !configured.isBlank()) {
            for (String java : configured.split(",")) {
                candidates.add(Path.of(java.trim()));
            }
        } else if (Files.isDirectory(Path.of("/usr/lib/jvm"))) {
            try (Stream<Path> dirs = Files.list(Path.of("/usr/lib/jvm"))) {
                dirs.filter(dir -> dir.getFileName().toString().startsWith("temurin-25"))
                        .map(dir -> dir.resolve("bin/java")).filter(Files::isExecutable).forEach(candidates::add);
            }
        }
        candidates.add(Path.of(System.getProperty("java.home"), "bin", "java"));
        List<Path> from22 = new ArrayList<>();
        for (Path java : candidates) {
            if (Files.isExecutable(java) && featureVersion(java) >= 22) {
                from22.add(java);
            }
        }
        return from22;
    }

    private static int featureVersion(Path java) throws IOException {
        Path release = java.getParent().getParent().resolve("release");
        if (Files.isRegularFile(release)) {
            for (String line : Files.readAllLines(release)) {
                if (line.startsWith("JAVA_VERSION=")) {
                    String version = line.substring("JAVA_VERSION=".length()).replace("\"", "");
                    return Integer.parseInt(version.split("[.+-]")[0]);
                }
            }
        }
        return -1;
    }
}
