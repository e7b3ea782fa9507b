package dev.pgreclaim.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's demo, run as a reader runs it: {@code java -jar demo-app/target/pg-reclaim-demo.jar} from the
 * repository root, in its own JVM, against the private PostgreSQL it starts. The demo checks every step itself; this
 * test checks that it says so, that it left nothing behind, and that it fails (and still cleans up) when a step does
 * not happen.
 */
class DemoIT {
    private static final Path DEMO_JAR = Path.of(System.getProperty("pgreclaim.demo.jar",
            "target/pg-reclaim-demo.jar")).toAbsolutePath();
    private static final Path AGENT_JAR = Path.of(System.getProperty("pgreclaim.demo.agentJar",
            "../agent/target/pg-reclaim-agent.jar")).toAbsolutePath().normalize();
    /** The repository root, where the README's command runs. */
    private static final Path REPO = AGENT_JAR.getParent().getParent().getParent();

    /**
     * The demo runs with SIGINT at its default, as from a terminal, whatever this JVM inherited. A background job of
     * a non-interactive shell ({@code mvn verify &} in a script) starts with SIGINT ignored; every process keeps an
     * ignored signal ignored across fork and exec, so Maven, this forked test JVM and the demo's JVM all start with
     * it ignored, and a JVM that starts with SIGINT ignored installs no handler for it: the Ctrl-C this test sends
     * would never run the demo's shutdown hook. coreutils' {@code env --default-signal=INT} (8.31+) resets it and
     * execs, so the pid held is still the demo's JVM.
     */
    private static final List<String> DEFAULT_SIGINT = defaultSigintPrefix();

    record Run(int exitCode, String output) {
    }

    @Test
    void theStoryHappensAsToldAndLeavesNothingBehind() throws Exception {
        Run run = demo(List.of(), null);

        assertThat(run.exitCode()).as(run.output()).isZero();
        String out = run.output();
        assertThat(out).doesNotContain("\u001b[").contains("[1/8]", "[8/8]", "ok TCP logins need a password");
        int holderBackend = number(out, "server backend pid (\\d+)");
        long holderProcess = number(out, "A separate OS process \\(pid (\\d+)\\)");
        int appBackend = number(out, "app: connected as some_user, backend pid (\\d+)");
        assertThat(out)
                .contains("postgres=# create role some_user with login password 'some_password' connection limit 1;")
                .contains("app: refused: FATAL: too many connections for role \"some_user\" (SQLState 53300)")
                .contains("would terminate pid=" + holderBackend)
                .contains("$ APP_PASSWORD=some_password java", "-javaagent:agent/target/pg-reclaim-agent.jar",
                        "-Dpgreclaim.mode=terminate", "-Dpgreclaim.admin.user=pgreclaim_admin",
                        "-Dpgreclaim.admin.password-file=")
                .contains("pg-reclaim AUDIT terminated pid=" + holderBackend + " role=some_user")
                .contains("ok the forgotten session (pid " + holderBackend + ") is gone")
                .contains("ok the app's session (pid " + appBackend + ") is there")
                .contains("ok no process of the demo is left running")
                .contains("Demo complete in");
        // the admin password never reaches the command line or the output
        assertThat(out).doesNotContainPattern("admin\\.password=[^*]")
                .doesNotContainPattern("pgreclaim_admin with login password '(?!\\*)");
        assertLeftNothingBehind(out, holderProcess);
    }

    @Test
    void aStepThatDoesNotHappenFailsTheDemoWhichStillCleansUp(@TempDir Path temp) throws Exception {
        // a jar that is no agent: the app's JVM cannot start, so there is no refusal to show
        Path notAnAgent = temp.resolve("not-an-agent.jar");
        Manifest manifest = new Manifest();
        manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        try (OutputStream file = Files.newOutputStream(notAnAgent); JarOutputStream jar = new JarOutputStream(file,
                manifest)) {
            jar.putNextEntry(new JarEntry("README"));
            jar.write("not an agent".getBytes(StandardCharsets.UTF_8));
        }

        Run run = demo(List.of("--agent-jar", notAnAgent.toString()), null);

        assertThat(run.exitCode()).as(run.output()).isEqualTo(1);
        assertThat(run.output()).contains("[5/8]", "FAILED", "Cleaning up after the failure:",
                "pg-reclaim demo FAILED (exit 1)").doesNotContain("[6/8]", "Demo complete");
        assertLeftNothingBehind(run.output(), number(run.output(), "A separate OS process \\(pid (\\d+)\\)"));
    }

    @Test
    void interruptedMidStoryCleansUp() throws Exception {
        // Ctrl-C: SIGINT to the demo's JVM (only to it: the terminal would also signal its children)
        Run run = demo(List.of(), "[5/8]");

        assertThat(run.exitCode()).as(run.output()).isEqualTo(130);
        assertThat(run.output()).contains("Interrupted: cleaning up what the demo started.")
                .doesNotContain("Demo complete");
        assertLeftNothingBehind(run.output(), number(run.output(), "A separate OS process \\(pid (\\d+)\\)"));
    }

    @Test
    void theDemoJarCarriesNoAgentClasses() throws IOException {
        // the agent must come only from -javaagent: no agent classes (nor its Byte Buddy) on the app's class path
        List<String> foreign = new ArrayList<>();
        try (JarFile jar = new JarFile(DEMO_JAR.toFile())) {
            for (Enumeration<JarEntry> entries = jar.entries(); entries.hasMoreElements(); ) {
                String name = entries.nextElement().getName();
                boolean ours = name.startsWith("dev/pgreclaim/");
                // the benchmarks share the module (and so the jar); they are no agent classes either
                boolean allowed = name.equals("dev/pgreclaim/") || name.startsWith("dev/pgreclaim/demo/")
                        || name.startsWith("dev/pgreclaim/testkit/") || name.startsWith("dev/pgreclaim/bench/");
                if ((ours && !allowed) || name.startsWith("net/bytebuddy/")) {
                    foreign.add(name);
                }
            }
            assertThat(jar.getManifest().getMainAttributes().getValue("Main-Class")).isEqualTo(Demo.class.getName());
            assertThat(jar.getManifest().getMainAttributes().getValue("Premain-Class")).isNull();
            assertThat(jar.getEntry("dev/pgreclaim/testkit/IdleHolderMain.class")).isNotNull();
            assertThat(jar.getEntry("org/postgresql/Driver.class")).isNotNull();
        }
        assertThat(foreign).isEmpty();
    }

    /**
     * Runs the demo jar from the repository root with output piped (so no colours); when {@code interruptAfter} is
     * given, sends SIGINT once that text has been printed.
     */
    private static Run demo(List<String> args, String interruptAfter) throws Exception {
        assertThat(DEMO_JAR).as("the demo jar (mvn package)").isRegularFile();
        assertThat(AGENT_JAR).as("the agent jar (mvn package)").isRegularFile();
        List<String> command = new ArrayList<>(DEFAULT_SIGINT);
        command.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar",
                DEMO_JAR.toString()));
        command.addAll(args);
        ProcessBuilder builder = new ProcessBuilder(command).directory(REPO.toFile()).redirectErrorStream(true);
        builder.environment().remove("NO_COLOR");
        builder.environment().remove("PGRECLAIM_DEMO_URL");
        Process process = builder.start();
        StringBuffer output = new StringBuffer();
        Thread reader = new Thread(() -> {
            try (InputStream in = process.getInputStream()) {
                byte[] buffer = new byte[8192];
                int n;
                while ((n = in.read(buffer)) >= 0) {
                    output.append(new String(buffer, 0, n, StandardCharsets.UTF_8));
                }
            } catch (IOException e) {
                // process gone
            }
        }, "demo-output");
        reader.start();
        try {
            if (interruptAfter != null) {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
                while (!output.toString().contains(interruptAfter) && process.isAlive()
                        && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
                if (process.isAlive()) {
                    assertThat(sigintIgnored(process.pid())).as("the demo's JVM started with SIGINT ignored, so"
                            + " Ctrl-C cannot reach it (this JVM's SIGINT ignored: "
                            + sigintIgnored(ProcessHandle.current().pid()) + "; env --default-signal available: "
                            + !DEFAULT_SIGINT.isEmpty() + ")").isFalse();
                }
                // not Process.destroy(): it also closes our end of the pipes, losing what the demo says next
                new ProcessBuilder("kill", "-INT", Long.toString(process.pid())).inheritIO().start().waitFor();
            }
            if (!process.waitFor(180, TimeUnit.SECONDS)) {
                throw new AssertionError("the demo did not finish in 180 s:\n" + output);
            }
            reader.join(10_000);
        } finally {
            process.destroyForcibly();
        }
        System.out.println(output);
        return new Run(process.exitValue(), output.toString());
    }

    private static List<String> defaultSigintPrefix() {
        List<String> prefix = List.of("env", "--default-signal=INT");
        try {
            List<String> probe = new ArrayList<>(prefix);
            probe.add("true");
            Process p = new ProcessBuilder(probe).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect
                    .DISCARD).start();
            return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0 ? prefix : List.of();
        } catch (IOException e) {
            return List.of();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return List.of();
        }
    }

    /** Bit 2 (SIGINT) of {@code SigIgn} in {@code /proc/PID/status}. */
    private static boolean sigintIgnored(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
            if (line.startsWith("SigIgn:")) {
                return (Long.parseUnsignedLong(line.substring(7).trim(), 16) & 0x2L) != 0;
            }
        }
        throw new AssertionError("no SigIgn line in /proc/" + pid + "/status");
    }

    /** The holder's JVM has exited, the temporary folder is gone, and the private server no longer listens. */
    private static void assertLeftNothingBehind(String output, long holderProcess) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (ProcessHandle.of(holderProcess).map(ProcessHandle::isAlive).orElse(false)
                && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertThat(ProcessHandle.of(holderProcess).filter(ProcessHandle::isAlive)).as("holder JVM " + holderProcess)
                .isEmpty();
        Matcher folder = Pattern.compile("(/\\S*pgreclaim-demo\\d+)").matcher(output);
        assertThat(folder.find()).as("temporary folder named in the output").isTrue();
        assertThat(Path.of(folder.group(1))).doesNotExist();
        int port = number(output, "on 127\\.0\\.0\\.1:(\\d+)");
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 1000);
            throw new AssertionError("something still listens on the demo server's port " + port);
        } catch (IOException refused) {
            // nothing listens: the server is gone
        }
    }

    private static int number(String text, String regex) {
        Matcher m = Pattern.compile(regex).matcher(text);
        assertThat(m.find()).as("'" + regex + "' in the output:\n" + text).isTrue();
        return Integer.parseInt(m.group(1));
    }
}
