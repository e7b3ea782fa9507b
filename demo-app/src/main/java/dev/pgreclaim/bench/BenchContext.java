package dev.pgreclaim.bench;

import dev.pgreclaim.testkit.PostgresServer;
import dev.pgreclaim.testkit.TestDatabase.Seed;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

/**
 * What every figure needs: the server, the jars, the class path and the agent's or the wrapper driver's flags of the
 * child JVMs.
 */
final class BenchContext {
    /** What the agent logs once it has read a valid policy and woven the driver; an inert agent never says it. */
    static final String ACTIVE_LINE = "pg-reclaim: active on org.postgresql.Driver";
    /** That line as the agent's stderr sink prints it ({@code [pg-reclaim] INFO active on ...}) or through SLF4J. */
    private static final java.util.regex.Pattern ACTIVE = java.util.regex.Pattern.compile(
            "(?m)(pg-reclaim: |^\\[pg-reclaim\\] INFO )active on org\\.postgresql\\.Driver");

    /** The wrapper driver's class, as {@code DriverManager.getDriver(url)} names it for a wrapper URL. */
    static final String WRAPPER_DRIVER = "dev.pgreclaim.jdbc.PgReclaimDriver";
    /** Tag of the line on which a child program names the driver that served its URL. */
    static final String DRIVER_TAG = "DRIVER";

    /**
     * What the wrapper driver logs at its first open under a valid policy ({@code pg-reclaim: JDBC wrapper active;
     * policy: ...}), on its stderr sink or through SLF4J; with a bad policy it says why instead and stays plain pgjdbc.
     */
    private static final java.util.regex.Pattern WRAPPER_ACTIVE = java.util.regex.Pattern.compile(
            "(?m)(pg-reclaim: |^\\[pg-reclaim\\] INFO )JDBC wrapper active");

    final boolean quick;
    final PostgresServer server;
    final Path agentJar;
    /** The wrapper driver's jar; null when no wrapper figure is selected. */
    final Path jdbcJar;
    /** The figures {@code --only=} selected (all by default). */
    final List<String> only;
    final Path emptyAgentJar;
    final Path startAppJar;
    final Path pgjdbcJar;
    final List<Path> javas;
    final Path outDir;
    /** The figure running now, for progress lines. */
    String figure = "";
    int figureNumber;
    int figureCount;
    /** The recovery figure's recovered p50 (ns), the reference of the first-reclaim and surge targets; NaN before. */
    double recoveredP50 = Double.NaN;
    /** Every row with a target, in order: figure, row, verdict. */
    final List<String[]> verdicts = new ArrayList<>();

    BenchContext(boolean quick, PostgresServer server, Path agentJar, Path jdbcJar, List<Path> javas, Path outDir,
            List<String> only) throws IOException {
        this.quick = quick;
        this.server = server;
        this.agentJar = agentJar;
        this.jdbcJar = jdbcJar;
        this.only = List.copyOf(only);
        this.javas = javas;
        this.outDir = outDir;
        this.pgjdbcJar = codeSource(org.postgresql.Driver.class);
        Files.createDirectories(outDir);
        this.emptyAgentJar = jarOf(outDir.resolve("empty-agent.jar"), EmptyAgent.class, "Premain-Class");
        this.startAppJar = jarOf(outDir.resolve("start-app.jar"), StartApp.class, "Main-Class");
    }

    /** Records a target's outcome for the summary and returns the cell text, {@code met ...} or {@code MISSED ...}. */
    String verdict(String row, boolean met, String target) {
        return verdict(figure, row, met, target);
    }

    /** As {@link #verdict(String, boolean, String)}, under another figure's name (a wrapper row inside a figure). */
    String verdict(String figureName, String row, boolean met, String target) {
        String text = (met ? "met " : "MISSED ") + target;
        verdicts.add(new String[] {figureName, row, text});
        return text;
    }

    boolean selected(String figureName) {
        return only.contains(figureName);
    }

    /**
     * True when the child says the wrapper driver served its URL (see {@link #DRIVER_TAG}) and its log shows the
     * wrapper active (an inert wrapper, say with a bad policy, is plain pgjdbc and measures nothing of pg-reclaim).
     */
    static boolean wrapperActive(Child.Result result) {
        return result.stdout().lines().anyMatch(line -> line.equals(DRIVER_TAG + " " + WRAPPER_DRIVER))
                && (WRAPPER_ACTIVE.matcher(result.stderr()).find() || WRAPPER_ACTIVE.matcher(result.stdout()).find());
    }

    /** True when the child's log shows an active agent (a JVM whose agent stayed inert measures nothing of it). */
    static boolean agentActive(Child.Result result) {
        return ACTIVE.matcher(result.stderr()).find() || ACTIVE.matcher(result.stdout()).find();
    }

    Path java() {
        return javas.get(0);
    }

    /** The child JVMs' class path: the bench classes and pgjdbc, nothing else (no SLF4J: the agent logs to stderr). */
    String childClasspath() {
        return codeSource(BenchContext.class) + File.pathSeparator + pgjdbcJar;
    }

    /**
     * The wrapper driver's JVMs: the bench classes, pgjdbc and the wrapper jar, which finds the application's pgjdbc
     * on the same class path (it ships none) and registers itself through {@code META-INF/services}.
     */
    String wrapperClasspath() {
        return childClasspath() + File.pathSeparator + jdbcJar;
    }

    /** {@code jdbc:postgresql://...} as the wrapper driver's URL, {@code jdbc:pgreclaim:postgresql://...}. */
    static String wrapperUrl(String url) {
        if (!url.startsWith("jdbc:postgresql:")) {
            throw new IllegalArgumentException("not a pgjdbc URL: " + url);
        }
        return "jdbc:pgreclaim:" + url.substring("jdbc:".length());
    }

    /**
     * The wrapper's policy as the agent's in {@link #agentFlags}, from system properties (no {@code -javaagent}); the
     * password goes in the environment, as the wrapper refuses secrets in its URL.
     */
    List<String> wrapperFlags(Seed seed, String... properties) {
        return policyFlags(seed, properties);
    }

    /** {@code -javaagent} plus terminate mode with the seed's admin role; the password goes in the environment. */
    List<String> agentFlags(Seed seed, String... properties) {
        List<String> flags = new ArrayList<>();
        flags.add("-javaagent:" + agentJar);
        flags.addAll(policyFlags(seed, properties));
        return flags;
    }

    private static List<String> policyFlags(Seed seed, String... properties) {
        List<String> flags = new ArrayList<>();
        flags.add("-Dpgreclaim.mode=terminate");
        flags.add("-Dpgreclaim.admin.user=" + seed.admin());
        for (String property : properties) {
            flags.add("-D" + property);
        }
        return flags;
    }

    Child child(Path java, List<String> jvmFlags, String mainClass, String... args) {
        return child(java, childClasspath(), jvmFlags, mainClass, args);
    }

    Child child(Path java, String classpath, List<String> jvmFlags, String mainClass, String... args) {
        Child child = new Child(java).args(jvmFlags).arg("-cp").arg(classpath).arg(mainClass);
        for (String arg : args) {
            child.arg(arg);
        }
        return child;
    }

    static Path codeSource(Class<?> type) {
        try {
            return Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI()).toAbsolutePath();
        } catch (URISyntaxException e) {
            throw new IllegalStateException("cannot locate the jar of " + type, e);
        }
    }

    /**
     * A jar holding one class and a manifest naming it. The JVM-start figure runs {@link StartApp} from such a jar,
     * and the empty agent is such a jar too, so that both agents' classes are read from their own jar, as any real
     * agent's are (were the empty agent's class on the application class path, the floor would skip opening a jar).
     */
    private static Path jarOf(Path jar, Class<?> type, String manifestAttribute) throws IOException {
        Manifest manifest = new Manifest();
        manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        manifest.getMainAttributes().put(new Attributes.Name(manifestAttribute), type.getName());
        String resource = type.getName().replace('.', '/') + ".class";
        try (OutputStream file = Files.newOutputStream(jar);
                JarOutputStream out = new JarOutputStream(file, manifest);
                InputStream classfile = type.getClassLoader().getResourceAsStream(resource)) {
            if (classfile == null) {
                throw new IOException("class file " + resource + " not found");
            }
            out.putNextEntry(new JarEntry(resource));
            classfile.transferTo(out);
            out.closeEntry();
        }
        return jar;
    }
}
