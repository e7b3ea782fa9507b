package dev.pgreclaim.cli;

import dev.pgreclaim.policy.InvalidPolicyException;
import dev.pgreclaim.policy.PolicyParser;
import dev.pgreclaim.policy.SafeText;
import dev.pgreclaim.policy.Setting;
import java.io.File;
import java.io.PrintStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLClassLoader;
import java.security.CodeSource;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Properties;

/**
 * {@code attach}: loads this jar as an agent into a running JVM through the Attach API
 * ({@code com.sun.tools.attach.VirtualMachine}: module {@code jdk.attach} on Java 9+, {@code lib/tools.jar} on a
 * Java 8 JDK), used reflectively so the CLI also runs where the API is absent and can say so. The policy travels as
 * agent arguments, newline-separated {@code key=value}, with the keys of the system properties.
 */
final class AttachCommand {
    static final String NAME = "attach";
    private static final String VIRTUAL_MACHINE = "com.sun.tools.attach.VirtualMachine";
    /** The agent's side of the report (dev.pgreclaim.agent.Installer, not linked: the CLI loads no agent class). */
    static final String REPORT_PREFIX = "@report=";
    static final String REPORT_PROPERTY = "dev.pgreclaim.attach.outcome";
    static final String STATUS_INVALID = "invalid";
    static final String STATUS_INACTIVE = "inactive";

    private AttachCommand() {
    }

    static String help() {
        return "Usage: java -jar pg-reclaim-agent.jar attach <pid> [key=value ...]\n"
                + "\n"
                + "Loads pg-reclaim into the running JVM <pid>, or changes the policy of the pg-reclaim already\n"
                + "running there (attached earlier or started with -javaagent). If the application has already\n"
                + "loaded org.postgresql.Driver, the driver is retransformed in place; recovery works from the next\n"
                + "refused open on. Run it as the same OS user as the target JVM, with a JDK (the Attach API is in\n"
                + "module jdk.attach on Java 9+, in lib/tools.jar on Java 8).\n"
                + "\n"
                + "Policy: key=value pairs with the keys of the agent's system properties, with or without the\n"
                + "pgreclaim. prefix, e.g. mode=terminate admin.user=pgr_admin min-idle=30s\n"
                + "admin.password-file=/etc/pg-reclaim/admin.pw (made absolute here). They override the target's\n"
                + "-D properties and environment, and replace the policy running there as a whole (keys not given\n"
                + "come from the target's -D properties, environment and defaults, not from an earlier attach):\n"
                + "mode=off stops all reclaiming at once. They are checked here first, as if they were the whole\n"
                + "policy, then by the target; a policy the target refuses changes nothing there.\n"
                + "admin.password is refused (it would be visible to ps): use admin.password-file, or start the\n"
                + "target with PGRECLAIM_ADMIN_PASSWORD, or use ~/.pgpass of the target's user.\n"
                + "\n"
                + "Prints the policy the target runs afterwards (password masked, URL parameters hidden).\n"
                + "\n"
                + "Exit codes: 0 the target runs the given policy; 2 usage error, invalid policy (here or in the\n"
                + "target, which then keeps its running policy), attach API missing, attach refused, no report.\n";
    }

    static int run(List<String> argv, PrintStream out, PrintStream err) throws CliException {
        Args args = Args.parse(NAME, argv, Collections.<String>emptySet(), Collections.<String>emptySet());
        List<String> words = args.positionals();
        if (words.isEmpty()) {
            throw CliException.usage("attach needs the pid of the target JVM (" + Cli.seeHelp(NAME) + ")");
        }
        String pid = words.get(0);
        if (!pid.matches("[0-9]{1,10}")) {
            throw CliException.usage("'" + pid + "' is not a process id (" + Cli.seeHelp(NAME) + ")");
        }
        String agentArgs = agentArguments(words.subList(1, words.size()));
        validate(agentArgs);
        File jar = ownJar();
        String token = Long.toHexString(System.nanoTime()) + "-" + Long.toHexString(Double.doubleToLongBits(
                Math.random()));

        Object vm = null;
        Class<?> type = virtualMachineClass();
        Properties targetProperties;
        try {
            vm = type.getMethod("attach", String.class).invoke(null, pid);
            type.getMethod("loadAgent", String.class, String.class).invoke(vm, jar.getPath(),
                    REPORT_PREFIX + token + (agentArgs.isEmpty() ? "" : "\n" + agentArgs));
            targetProperties = (Properties) type.getMethod("getSystemProperties").invoke(vm);
        } catch (InvocationTargetException failed) {
            throw attachFailure(pid, failed.getCause());
        } catch (ReflectiveOperationException | RuntimeException failed) {
            throw attachFailure(pid, failed);
        } finally {
            if (vm != null) {
                try {
                    type.getMethod("detach").invoke(vm);
                } catch (ReflectiveOperationException | RuntimeException ignored) {
                    // the target keeps the agent either way
                }
            }
        }
        return report(pid, jar, targetProperties.getProperty(REPORT_PROPERTY), token, out);
    }

    /**
     * What the target says it runs now, from the report the agent leaves in a system property of the target. The
     * lines come from the agent's own policy printing (password masked, URLs without parameters) and are scrubbed
     * again here in case an older agent wrote them.
     */
    static int report(String pid, File jar, String outcome, String token, PrintStream out) throws CliException {
        String[] lines = outcome == null ? new String[0] : outcome.split("\n", 4);
        if (lines.length < 3 || !lines[0].equals(token)) {
            throw new CliException(ExitCode.ERROR, "agent " + jar.getName() + " loaded into JVM " + pid + ", but it"
                    + " did not report the policy it runs (another pg-reclaim version there, or a concurrent attach);"
                    + " see that JVM's stderr or log");
        }
        String status = lines[1];
        String detail = SafeText.scrubUrls(lines[2]);
        if (status.equals(STATUS_INVALID)) {
            String running = lines.length > 3 ? SafeText.scrubUrls(lines[3]) : "(unknown)";
            throw CliException.usage("JVM " + pid + " refused the policy, nothing changed there: " + detail
                    + "; it still runs: " + running);
        }
        out.println("pg-reclaim: JVM " + pid + " now runs: " + detail
                + (status.equals(STATUS_INACTIVE) ? " (agent inactive: nothing is reclaimed)" : ""));
        return ExitCode.DONE;
    }

    /** key=value words as agent arguments: keys checked, password refused, password file made absolute. */
    static String agentArguments(List<String> pairs) throws CliException {
        List<String> lines = new ArrayList<String>();
        for (String pair : pairs) {
            int eq = pair.indexOf('=');
            if (eq <= 0) {
                throw CliException.usage("'" + pair + "' is not key=value (" + Cli.seeHelp(NAME) + ")");
            }
            String key = pair.substring(0, eq).trim();
            String value = pair.substring(eq + 1).trim();
            Setting setting = Setting.byKey(key);
            if (setting == null) {
                throw CliException.usage("'" + key + "' is not a pg-reclaim property (see the property table in the"
                        + " README; keys with or without the pgreclaim. prefix)");
            }
            if (setting == Setting.ADMIN_PASSWORD) {
                throw CliException.usage(setting.shortKey() + " is refused on the command line (visible to ps); use "
                        + Setting.ADMIN_PASSWORD_FILE.shortKey() + "=FILE");
            }
            if (value.indexOf(';') >= 0 || value.indexOf('\n') >= 0 || value.indexOf('\r') >= 0) {
                throw CliException.usage(setting.shortKey() + ": a value cannot contain ';' or a line break (they"
                        + " separate agent arguments)");
            }
            if (setting == Setting.ADMIN_PASSWORD_FILE && !value.isEmpty()) {
                // The target resolves relative paths against its own working directory, not ours.
                value = new File(value).getAbsolutePath();
            }
            lines.add(setting.shortKey() + "=" + value);
        }
        StringBuilder joined = new StringBuilder();
        for (String line : lines) {
            joined.append(joined.length() == 0 ? "" : "\n").append(line);
        }
        return joined.toString();
    }

    /**
     * The agent never throws into its target, so a bad value would only show up in the target's log: check here
     * first with the agent's own parser. The password file is only checked for existence, since the target may
     * run as a user that can read it when this one cannot.
     */
    private static void validate(String agentArgs) throws CliException {
        StringBuilder withoutFile = new StringBuilder();
        String passwordFile = null;
        for (String line : agentArgs.split("\n")) {
            if (line.startsWith(Setting.ADMIN_PASSWORD_FILE.shortKey() + "=")) {
                passwordFile = line.substring(line.indexOf('=') + 1);
            } else {
                withoutFile.append(line).append('\n');
            }
        }
        try {
            PolicyParser.parse(withoutFile.toString(), new Properties(), Collections.<String, String>emptyMap());
        } catch (InvalidPolicyException invalid) {
            throw CliException.usage("invalid policy, nothing attached: " + invalid.getMessage());
        }
        if (passwordFile != null && !passwordFile.isEmpty() && !new File(passwordFile).exists()) {
            throw CliException.usage(Setting.ADMIN_PASSWORD_FILE.shortKey() + "='" + passwordFile
                    + "' does not exist, nothing attached");
        }
    }

    private static File ownJar() throws CliException {
        CodeSource source = AttachCommand.class.getProtectionDomain().getCodeSource();
        URL location = source == null ? null : source.getLocation();
        File jar;
        try {
            jar = location == null ? null : new File(location.toURI());
        } catch (URISyntaxException | IllegalArgumentException notAFile) {
            jar = null;
        }
        if (jar == null || !jar.isFile()) {
            throw new CliException(ExitCode.ERROR, "cannot locate the agent jar (" + location
                    + "); run the CLI as java -jar pg-reclaim-agent.jar attach ...");
        }
        return jar.getAbsoluteFile();
    }

    private static Class<?> virtualMachineClass() throws CliException {
        try {
            return Class.forName(VIRTUAL_MACHINE);
        } catch (ClassNotFoundException notOnClassPath) {
            // Java 8 JDK: the Attach API lives in lib/tools.jar beside the jre folder.
            File tools = new File(new File(System.getProperty("java.home")).getParentFile(), "lib/tools.jar");
            if (tools.isFile()) {
                try {
                    URLClassLoader loader = new URLClassLoader(new URL[] {tools.toURI().toURL()},
                            ClassLoader.getSystemClassLoader());
                    return Class.forName(VIRTUAL_MACHINE, true, loader);
                } catch (ReflectiveOperationException | java.io.IOException | LinkageError unusable) {
                    throw new CliException(ExitCode.ERROR, "the attach API in " + tools + " cannot be loaded: "
                            + unusable);
                }
            }
            throw new CliException(ExitCode.ERROR, "the attach API is not available in this Java runtime ("
                    + System.getProperty("java.home") + "): run the attach command with a full JDK (Java 9+ with"
                    + " module jdk.attach, or a Java 8 JDK with lib/tools.jar), or start the application with"
                    + " -javaagent:pg-reclaim-agent.jar instead");
        }
    }

    private static CliException attachFailure(String pid, Throwable failure) {
        String kind = failure == null ? "unknown" : failure.getClass().getSimpleName();
        String detail = failure == null ? "" : String.valueOf(failure.getMessage());
        String hint;
        if (kind.equals("AttachNotSupportedException") || kind.equals("IOException")) {
            hint = "is " + pid + " a running JVM of the same OS user, started without -XX:+DisableAttachMechanism?";
        } else if (kind.equals("AgentLoadException")) {
            hint = "the target JVM could not load the agent jar (is its Java version 8 or newer?)";
        } else if (kind.equals("AgentInitializationException")) {
            hint = "the agent's start-up failed in the target; see its stderr";
        } else {
            hint = "see the target JVM's stderr";
        }
        return new CliException(ExitCode.ERROR, "attach to JVM " + pid + " failed: " + kind + ": " + detail + " ("
                + hint + ")", failure);
    }
}
