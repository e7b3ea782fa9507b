package dev.pgreclaim.demo;

import dev.pgreclaim.testkit.ExternalServer;
import dev.pgreclaim.testkit.ForkedJvm;
import dev.pgreclaim.testkit.IdleHolder;
import dev.pgreclaim.testkit.IdleHolder.HoldState;
import dev.pgreclaim.testkit.PostgresServer;
import dev.pgreclaim.testkit.PostgresServers;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The seed story in one command: a role whose only connection slot is held by a forgotten idle session; the app is
 * refused with 53300; then the same app, started with the pg-reclaim agent, gets its connection because the agent
 * terminated that session. Every step is checked: the demo exits non-zero when one did not happen as described.
 *
 * <p>Exit codes: 0 every step as described; 1 a step did not happen as described (or broke); 2 bad command line or
 * nothing to run against (agent jar missing, no PostgreSQL); 130 interrupted (Ctrl-C), after cleaning up.
 */
public final class Demo {
    static final String ROLE = "some_user";
    static final String ROLE_PASSWORD = "some_password";
    static final String DATABASE = "some_db";
    static final String ADMIN = "pgreclaim_admin";
    static final String HOLDER_APPLICATION = "forgotten-psql";
    /** The agent's minimum idle age for a victim; the demo waits until the forgotten session is at least this idle. */
    static final Duration MIN_IDLE = Duration.ofSeconds(1);
    private static final Duration APP_TIMEOUT = Duration.ofSeconds(60);
    private static final Pattern CONNECTED = Pattern.compile("app: connected as \\S+, backend pid (\\d+)");
    private static final int STEPS = 8;

    private final DemoOptions options;
    private final Narrator say;
    private final Cleanup cleanup = new Cleanup();
    private final Path demoJar;
    private final long startNanos = System.nanoTime();
    private volatile boolean interrupted;

    private PostgresServer server;
    private String maintenanceDatabase = "postgres";
    private Path workDir;
    private Path adminPasswordFile;
    private IdleHolder holder;

    private Demo(DemoOptions options, Narrator say, Path demoJar) {
        this.options = options;
        this.say = say;
        this.demoJar = demoJar;
    }

    /** A step did not happen as the story says. */
    static final class StepFailed extends Exception {
        private static final long serialVersionUID = 1L;

        StepFailed(String message) {
            super(message);
        }
    }

    public static void main(String[] args) {
        Path demoJar = ownJar();
        DemoOptions options;
        try {
            options = DemoOptions.parse(args, System.getenv(), defaultAgentJar(demoJar));
        } catch (DemoOptions.UsageException usage) {
            if (usage.getMessage() == null) {
                System.out.println(DemoOptions.USAGE);
                System.exit(0);
            }
            System.err.println("pg-reclaim demo: " + usage.getMessage());
            System.err.println();
            System.err.println(DemoOptions.USAGE);
            System.exit(2);
            return;
        }
        if (!Files.isRegularFile(options.agentJar())) {
            System.err.println("pg-reclaim demo: the agent jar " + options.agentJar().toAbsolutePath()
                    + " does not exist. Build it from the repository root with `mvn -q -DskipTests package`,"
                    + " or pass --agent-jar.");
            System.exit(2);
        }
        Narrator say = new Narrator(System.out, Narrator.colourWanted(), STEPS);
        System.exit(new Demo(options, say, demoJar).run());
    }

    private int run() {
        Thread hook = new Thread(() -> {
            interrupted = true;
            say.onlyFrom(Thread.currentThread());
            say.blank();
            say.error("Interrupted: cleaning up what the demo started.");
            cleanup.runAll(done -> say.say(done));
        }, "pgreclaim-demo-cleanup");
        Runtime.getRuntime().addShutdownHook(hook);
        int exitCode;
        try {
            story();
            exitCode = 0;
        } catch (StepFailed failed) {
            if (interrupted) {
                return 130;
            }
            say.failed(failed.getMessage());
            exitCode = 1;
        } catch (CannotRunException cannotRun) {
            say.failed(cannotRun.getMessage());
            exitCode = 2;
        } catch (Exception | LinkageError broken) {
            if (interrupted) {
                return 130;
            }
            say.failed("the demo broke: " + broken);
            broken.printStackTrace(System.out);
            exitCode = 1;
        }
        if (exitCode != 0) {
            say.blank();
            say.plain("Cleaning up after the failure:");
            cleanup.runAll(done -> say.say(done));
            say.error("pg-reclaim demo FAILED (exit " + exitCode + ")");
        }
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // Ctrl-C arrived meanwhile: the hook cleans up
        }
        return exitCode;
    }

    private void story() throws Exception {
        say.title("pg-reclaim demo: someone holds a role's only connection slot and forgot about it.");
        say.plain("First the app is refused, as it would be today. Then the same app runs with the pg-reclaim agent,");
        say.plain("which terminates the forgotten idle session and retries the open: getConnection() just works.");

        startServer();
        createObjects();
        holdTheSlot();
        int holderPid = holder.backendPid();

        say.step("What the server sees: " + ROLE + "'s only slot is taken by an idle session");
        say.sql(maintenanceDatabase, ActivityTable.QUERY.replace("?", "'" + ROLE + "'") + ";");
        ActivityTable before = table();
        say.block(before.render());
        check("idle".equals(before.stateOf(holderPid)),
                "the forgotten session (pid " + holderPid + ") is idle", "the forgotten session pid " + holderPid
                        + " is not idle in pg_stat_activity: state " + before.stateOf(holderPid));

        refusedWithoutReclaim(holderPid);
        int appPid;
        ForkedJvm.Handle app = null;
        try {
            app = connectedWithReclaim(holderPid);
            appPid = appBackendPid(app);

            say.step("What the server sees now, while the app holds its connection");
            ActivityTable after = table();
            say.block(after.render());
            check(after.stateOf(holderPid) == null, "the forgotten session (pid " + holderPid + ") is gone",
                    "the forgotten session pid " + holderPid + " is still in pg_stat_activity");
            check(after.stateOf(appPid) != null, "the app's session (pid " + appPid + ") is there",
                    "the app's session pid " + appPid + " is not in pg_stat_activity");
            app.writeLine("STOP");
            app.closeStdin();
            ForkedJvm.Result done = app.waitFor(APP_TIMEOUT);
            check(done.exitCode() == 0, "the app closed its connection and exited 0",
                    "the app exited " + done.exitCode() + "\n" + done.stdout() + done.stderr());
        } finally {
            if (app != null) {
                app.close();
            }
        }

        say.step("Cleaning up everything the demo started");
        cleanup.runAll(done -> say.say(done));
        List<ProcessHandle> left = ProcessHandle.current().children().toList();
        check(left.isEmpty(), "no process of the demo is left running",
                "processes still running after cleanup: " + left);

        long millis = (System.nanoTime() - startNanos) / 1_000_000;
        say.blank();
        say.success(String.format("Demo complete in %.1f s. The app's refused open (53300) became a connection,",
                millis / 1000.0));
        say.success(String.format("because the agent terminated the forgotten idle session (pid %d) and retried.",
                holderPid));
    }

    // --- step 1 ---------------------------------------------------------------------------------------------------

    /** Nothing to run against (no server, or its objects would clash): the user has to act (exit 2). */
    static final class CannotRunException extends Exception {
        private static final long serialVersionUID = 1L;

        CannotRunException(String message, Exception cause) {
            super(message, cause);
        }
    }

    private void startServer() throws Exception {
        workDir = Files.createTempDirectory("pgreclaim-demo",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        cleanup.add("deleted the demo's temporary folder " + workDir, () -> deleteRecursively(workDir));
        if (options.url() != null) {
            say.step("Connecting to the existing PostgreSQL server at " + options.url());
            ExternalServer existing = new ExternalServer(options.url(), options.user(), options.password());
            server = existing;
            maintenanceDatabase = existing.database();
            try (Connection c = superuser()) {
                say.say(describe(c) + ", as " + options.user());
            } catch (SQLException e) {
                throw new CannotRunException("cannot log in to " + options.url() + " as " + options.user() + ": "
                        + e.getMessage(), e);
            }
            return;
        }
        say.step("Starting a private PostgreSQL server (password authentication, no trust)");
        long t0 = System.nanoTime();
        server = startPrivateServer();
        PostgresServer started = server;
        cleanup.add("stopped the PostgreSQL server and deleted its data folder", started::close);
        long millis = (System.nanoTime() - t0) / 1_000_000;
        try (Connection c = superuser()) {
            say.say(describe(c) + ", started in " + millis + " ms (" + started.kind() + ")");
            String auth = queryString(c, "select string_agg(distinct auth_method, ', ') from pg_hba_file_rules"
                    + " where type = 'host'");
            check(auth != null && !auth.contains("trust"), "TCP logins need a password: " + auth,
                    "the private server lets TCP logins in without a password (" + auth + ")");
        }
    }

    private PostgresServer startPrivateServer() throws CannotRunException {
        List<String> kinds = options.serverKind().equals("auto") ? List.of("local", "embedded")
                : List.of(options.serverKind());
        List<String> tried = new ArrayList<>();
        Exception last = null;
        for (String kind : kinds) {
            // the testkit picks its server kind from this property; the demo never uses testcontainers
            System.setProperty("pgreclaim.test.server", kind);
            try {
                return PostgresServers.startPrivate(Map.of("max_connections", "20"));
            } catch (RuntimeException | LinkageError e) {
                tried.add(kind + ": " + firstLine(e.getMessage()));
                last = e instanceof Exception ? (Exception) e : new IllegalStateException(e);
            }
        }
        throw new CannotRunException("could not start a PostgreSQL server:\n        " + String.join("\n        ", tried)
                + "\n      Install PostgreSQL, or point the demo at a server with --url (see --help).", last);
    }

    private static String describe(Connection c) throws SQLException {
        return "PostgreSQL " + queryString(c, "show server_version") + " on " + c.getMetaData().getURL()
                .replaceFirst("^jdbc:postgresql://", "").replaceFirst("/.*", "");
    }

    // --- step 2 ---------------------------------------------------------------------------------------------------

    private void createObjects() throws Exception {
        say.step("Creating the seed's role (connection limit 1), its database, and an admin role for the agent");
        try (Connection c = superuser()) {
            List<String> existing = new ArrayList<>();
            if (exists(c, "select 1 from pg_roles where rolname = ?", ROLE)) {
                existing.add("role " + ROLE);
            }
            if (exists(c, "select 1 from pg_roles where rolname = ?", ADMIN)) {
                existing.add("role " + ADMIN);
            }
            if (exists(c, "select 1 from pg_database where datname = ?", DATABASE)) {
                existing.add("database " + DATABASE);
            }
            if (!existing.isEmpty()) {
                throw new CannotRunException(String.join(" and ", existing) + (existing.size() == 1 ? " already exists"
                        : " already exist") + " on " + server + "; the demo creates and drops its own objects and"
                        + " leaves these alone. Use another server, or drop them.", null);
            }
        }
        String adminPassword = randomPassword();
        adminPasswordFile = workDir.resolve("admin-password");
        Files.writeString(adminPasswordFile, adminPassword + "\n", StandardCharsets.UTF_8);
        Files.setPosixFilePermissions(adminPasswordFile, PosixFilePermissions.fromString("rw-------"));

        if (server instanceof ExternalServer) {
            // a server the demo did not start: drop exactly what it created, and nothing else
            cleanup.add("dropped " + DATABASE + ", " + ROLE + " and " + ADMIN, this::dropObjects);
        }
        String[][] statements = {
            {"create role " + ROLE + " with login password '" + ROLE_PASSWORD + "' connection limit 1", null},
            {"create database " + DATABASE + " owner " + ROLE, null},
            {"create role " + ADMIN + " with login password '" + adminPassword + "'",
                "create role " + ADMIN + " with login password '********'"},
            {"grant pg_signal_backend, pg_read_all_stats to " + ADMIN, null},
        };
        try (Connection c = superuser(); Statement st = c.createStatement()) {
            for (String[] statement : statements) {
                say.sql(maintenanceDatabase, (statement[1] == null ? statement[0] : statement[1]) + ";");
                st.execute(statement[0]);
            }
        }
        say.say("The admin role is not a superuser: it may signal backends (pg_signal_backend) and see every");
        say.say("session's state (pg_read_all_stats). Its password is in " + display(adminPasswordFile) + ",");
        say.say("a file only the agent reads.");
    }

    private void dropObjects() throws SQLException {
        try (Connection c = superuser(); Statement st = c.createStatement()) {
            st.execute("select pg_catalog.pg_terminate_backend(pid) from pg_catalog.pg_stat_activity where usename in"
                    + " ('" + ROLE + "', '" + ADMIN + "') and pid <> pg_catalog.pg_backend_pid()");
            st.execute("drop database if exists " + DATABASE + " with (force)");
            st.execute("drop role if exists " + ROLE);
            st.execute("drop role if exists " + ADMIN);
        }
    }

    // --- step 3 ---------------------------------------------------------------------------------------------------

    private void holdTheSlot() throws StepFailed {
        say.step("Someone elsewhere logs in as " + ROLE + " and leaves the session open, doing nothing");
        try {
            holder = IdleHolder.start(server.jdbcUrl(DATABASE), ROLE, ROLE_PASSWORD, HoldState.IDLE,
                    HOLDER_APPLICATION);
        } catch (IllegalStateException e) {
            throw new StepFailed("the idle session could not be opened: " + e.getMessage());
        }
        IdleHolder started = holder;
        cleanup.add("ended the forgotten session's process (OS pid " + started.processPid() + ")", started::close);
        say.say("A separate OS process (pid " + holder.processPid() + "), like a psql left open in a terminal:");
        say.say("application_name '" + HOLDER_APPLICATION + "', server backend pid " + holder.backendPid() + ".");
    }

    // --- step 5 ---------------------------------------------------------------------------------------------------

    private void refusedWithoutReclaim(int holderPid) throws Exception {
        say.step("The app connects as " + ROLE + " without reclaim (agent in observe mode: it only reports)");
        waitUntilIdleFor(holderPid, MIN_IDLE);
        ForkedJvm.Builder builder = app("observe", false);
        printCommand(builder);
        ForkedJvm.Result result;
        try (ForkedJvm.Handle handle = builder.start()) {
            cleanup.add("stopped the app's JVM (observe run)", handle::close);
            result = handle.waitFor(APP_TIMEOUT);
        }
        say.output("app  ", result.stdout());
        say.output("agent", result.stderr());
        check(result.exitCode() == 1, "the app did not get a connection (exit 1)",
                "the app exited " + result.exitCode() + ", expected 1 (refused)");
        String refusal = "FATAL: too many connections for role \"" + ROLE + "\"";
        check(result.stdout().contains("app: refused: " + refusal + " (SQLState 53300)"),
                "refused with SQLState 53300: " + refusal,
                "the app's refusal was not '" + refusal + "' with SQLState 53300");
        check(result.stderr().contains("would terminate pid=" + holderPid),
                "the agent named the session it would terminate: pid " + holderPid,
                "the agent's observe line does not name pid " + holderPid + " as the would-be victim");
        check("idle".equals(table().stateOf(holderPid)), "and terminated nothing: pid " + holderPid
                + " is still there", "pid " + holderPid + " is gone although the agent was only observing");
    }

    // --- step 6 ---------------------------------------------------------------------------------------------------

    private ForkedJvm.Handle connectedWithReclaim(int holderPid) throws Exception {
        say.step("The same app with the agent in terminate mode");
        say.say("-javaagent: attaches pg-reclaim; pgreclaim.mode=terminate lets it act; the admin password comes");
        say.say("from a file, never the command line; only sessions idle for at least "
                + MIN_IDLE.toMillis() / 1000 + " s may be terminated.");
        say.say("--hold keeps the connection open until stdin closes, so it can be seen in pg_stat_activity.");
        waitUntilIdleFor(holderPid, MIN_IDLE);
        ForkedJvm.Builder builder = app("terminate", true);
        printCommand(builder);
        ForkedJvm.Handle handle = builder.start();
        cleanup.add("stopped the app's JVM (terminate run)", handle::close);
        long deadline = System.nanoTime() + APP_TIMEOUT.toNanos();
        while (!CONNECTED.matcher(handle.stdout()).find() && handle.isAlive() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        String audit = "pg-reclaim AUDIT terminated pid=" + holderPid;
        // the audit line is written before getConnection returns, but through another pipe: give it a moment
        long auditDeadline = System.nanoTime() + 2_000_000_000L;
        while (!handle.stderr().contains(audit) && handle.isAlive() && System.nanoTime() < auditDeadline) {
            Thread.sleep(10);
        }
        if (!handle.isAlive()) {
            handle.waitFor(Duration.ofSeconds(5));
        }
        say.output("app  ", handle.stdout());
        say.output("agent", handle.stderr());
        check(CONNECTED.matcher(handle.stdout()).find(), "the app got its connection",
                "the app did not connect" + (handle.isAlive() ? "" : " (exit " + handle.process().exitValue() + ")"));
        check(handle.stderr().contains(audit), "the agent's audit line names the terminated session: pid "
                + holderPid, "no audit line naming pid " + holderPid + " in the agent's output");
        return handle;
    }

    private int appBackendPid(ForkedJvm.Handle app) {
        Matcher m = CONNECTED.matcher(app.stdout());
        if (!m.find()) {
            throw new IllegalStateException("no backend pid in the app's output");
        }
        return Integer.parseInt(m.group(1));
    }

    /** The app's JVM: the agent from the agent jar, the app from the demo jar, the password in the environment. */
    private ForkedJvm.Builder app(String mode, boolean hold) {
        ForkedJvm.Builder builder = ForkedJvm.builder()
                .javaBinary(javaCommand())
                .jvmArg("-javaagent:" + display(options.agentJar()))
                .jvmArg("-Dpgreclaim.mode=" + mode)
                .jvmArg("-Dpgreclaim.admin.user=" + ADMIN)
                .jvmArg("-Dpgreclaim.admin.password-file=" + display(adminPasswordFile))
                .jvmArg("-Dpgreclaim.min-idle=" + MIN_IDLE.toMillis() / 1000 + "s")
                .classpath(List.of(Path.of(display(demoJar))))
                .mainClass(App.class.getName())
                .env(App.PASSWORD_ENV, ROLE_PASSWORD)
                .timeout(APP_TIMEOUT);
        if (hold) {
            builder.args(server.jdbcUrl(DATABASE), ROLE, "--hold");
        } else {
            builder.args(server.jdbcUrl(DATABASE), ROLE);
        }
        return builder;
    }

    /** The exact command, one option per line, as it could be pasted into a shell. */
    private void printCommand(ForkedJvm.Builder builder) {
        List<String> tokens = builder.command();
        List<String> lines = new ArrayList<>();
        StringBuilder line = new StringBuilder(App.PASSWORD_ENV + "=" + ROLE_PASSWORD + " " + tokens.get(0));
        boolean mainSeen = false;
        for (int i = 1; i < tokens.size(); i++) {
            String token = tokens.get(i);
            boolean main = !mainSeen && token.equals(App.class.getName());
            if (!mainSeen
                    && (token.startsWith("-D") || token.startsWith("-javaagent:") || token.equals("-cp") || main)) {
                lines.add(line.toString());
                line = new StringBuilder("  " + token);
            } else {
                line.append(' ').append(token);
            }
            mainSeen |= main;
        }
        lines.add(line.toString());
        if (!mainSeen) {
            throw new IllegalStateException("unexpected command " + tokens);
        }
        say.command(lines.toArray(new String[0]));
    }

    // --- helpers --------------------------------------------------------------------------------------------------

    private void check(boolean held, String ok, String failure) throws StepFailed {
        if (!held) {
            throw new StepFailed(failure);
        }
        say.ok(ok);
    }

    private Connection superuser() throws SQLException {
        return server.connectAsSuperuser(maintenanceDatabase);
    }

    private ActivityTable table() throws SQLException {
        try (Connection c = superuser()) {
            return ActivityTable.read(c, ROLE);
        }
    }

    /** The agent spares sessions idle for less than min-idle: wait (briefly, silently) until this one qualifies. */
    private void waitUntilIdleFor(int pid, Duration minimum) throws Exception {
        long deadline = System.nanoTime() + minimum.toNanos() + 10_000_000_000L;
        try (Connection c = superuser();
                PreparedStatement st = c.prepareStatement("select state = 'idle' and state_change"
                        + " <= clock_timestamp() - ? * interval '1 millisecond' from pg_stat_activity where pid = ?")) {
            st.setLong(1, minimum.toMillis() + 100);
            st.setInt(2, pid);
            while (System.nanoTime() < deadline) {
                try (ResultSet rows = st.executeQuery()) {
                    if (rows.next() && rows.getBoolean(1)) {
                        return;
                    }
                }
                Thread.sleep(50);
            }
        }
        throw new StepFailed("session pid " + pid + " never became idle for " + minimum.toMillis() + " ms");
    }

    private static boolean exists(Connection c, String sql, String name) throws SQLException {
        try (PreparedStatement st = c.prepareStatement(sql)) {
            st.setString(1, name);
            try (ResultSet rows = st.executeQuery()) {
                return rows.next();
            }
        }
    }

    private static String queryString(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rows = st.executeQuery(sql)) {
            rows.next();
            return rows.getString(1);
        }
    }

    private static String randomPassword() {
        SecureRandom random = new SecureRandom();
        String alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        StringBuilder password = new StringBuilder();
        for (int i = 0; i < 24; i++) {
            password.append(alphabet.charAt(random.nextInt(alphabet.length())));
        }
        return password.toString();
    }

    private static String firstLine(String text) {
        if (text == null) {
            return "(no message)";
        }
        int newline = text.indexOf('\n');
        return newline < 0 ? text : text.substring(0, newline);
    }

    /** {@code java} when the one on PATH is this JVM's, else the full path: the printed command must be exact. */
    private static Path javaCommand() {
        Path current = ForkedJvm.currentJava();
        String path = System.getenv("PATH");
        if (path != null) {
            for (String dir : path.split(java.io.File.pathSeparator)) {
                Path candidate = Path.of(dir.isEmpty() ? "." : dir, "java");
                if (Files.isExecutable(candidate)) {
                    try {
                        return candidate.toRealPath().equals(current.toRealPath()) ? Path.of("java") : current;
                    } catch (IOException e) {
                        return current;
                    }
                }
            }
        }
        return current;
    }

    /** A path relative to the working directory when it lies under it (shorter to read, same to run). */
    private static String display(Path path) {
        Path absolute = path.toAbsolutePath().normalize();
        Path cwd = Path.of("").toAbsolutePath();
        return absolute.startsWith(cwd) ? cwd.relativize(absolute).toString() : absolute.toString();
    }

    /** The jar (or classes folder) this class was loaded from: the app runs from the same one. */
    private static Path ownJar() {
        try {
            return Path.of(Demo.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** agent/target/pg-reclaim-agent.jar under the working directory, else next to the demo jar's module. */
    private static Path defaultAgentJar(Path demoJar) {
        Path fromCwd = Path.of("agent", "target", "pg-reclaim-agent.jar");
        if (Files.isRegularFile(fromCwd)) {
            return fromCwd;
        }
        // demo-app/target/pg-reclaim-demo.jar -> agent/target/pg-reclaim-agent.jar
        Optional<Path> repo = Optional.ofNullable(demoJar.toAbsolutePath().getParent())
                .map(Path::getParent).map(Path::getParent);
        return repo.map(r -> r.resolve(fromCwd)).filter(Files::isRegularFile).orElse(fromCwd);
    }

    private static void deleteRecursively(Path root) throws IOException {
        if (root == null || !Files.exists(root)) {
            return;
        }
        try (var walk = Files.walk(root)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
