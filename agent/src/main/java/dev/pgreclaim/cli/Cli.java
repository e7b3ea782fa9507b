package dev.pgreclaim.cli;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * {@code java -jar pg-reclaim-agent.jar <command>}: the operator's tool, for a JVM without the agent yet or to see
 * who holds the slots. Exit codes in {@link ExitCode}; documentation in {@code src/site/markdown/cli.md}.
 */
public final class Cli {
    private Cli() {
    }

    public static void main(String[] args) {
        int code = run(args, System.out, System.err, System.getenv());
        System.out.flush();
        System.exit(code);
    }

    static int run(String[] argv, PrintStream out, PrintStream err, Map<String, String> environment) {
        List<String> words = new ArrayList<String>(Arrays.asList(argv));
        if (words.isEmpty()) {
            err.print(help());
            return ExitCode.ERROR;
        }
        String command = words.remove(0);
        if (command.equals("--help") || command.equals("-h") || command.equals("help")) {
            if (words.isEmpty()) {
                out.print(help());
                return ExitCode.DONE;
            }
            command = words.remove(0);
            words.clear();
            words.add("--help");
        }
        if (!command.equals(StatusCommand.NAME) && !command.equals(ReclaimCommand.NAME)
                && !command.equals(AttachCommand.NAME)) {
            err.println("pg-reclaim: unknown command '" + command + "'");
            err.print(help());
            return ExitCode.ERROR;
        }
        if (words.contains("--help") || words.contains("-h")) {
            out.print(commandHelp(command));
            return ExitCode.DONE;
        }
        try {
            if (command.equals(StatusCommand.NAME)) {
                return StatusCommand.run(words, out, err, environment);
            }
            if (command.equals(ReclaimCommand.NAME)) {
                return ReclaimCommand.run(words, out, err, environment);
            }
            return AttachCommand.run(words, out, err);
        } catch (CliException failure) {
            err.println("pg-reclaim: " + (failure.exitCode() == ExitCode.NOTHING_TO_RECLAIM ? "" : "error: ")
                    + failure.getMessage());
            return failure.exitCode();
        } catch (RuntimeException | LinkageError unexpected) {
            err.println("pg-reclaim: error: unexpected failure: " + unexpected);
            unexpected.printStackTrace(err);
            return ExitCode.ERROR;
        }
    }

    static String seeHelp(String command) {
        return "see java -jar pg-reclaim-agent.jar " + command + " --help";
    }

    private static String commandHelp(String command) {
        if (command.equals(StatusCommand.NAME)) {
            return StatusCommand.help();
        }
        if (command.equals(ReclaimCommand.NAME)) {
            return ReclaimCommand.help();
        }
        return AttachCommand.help();
    }

    static String help() {
        return "pg-reclaim: frees PostgreSQL connection slots held by idle sessions.\n"
                + "\n"
                + "As an agent:  java -javaagent:pg-reclaim-agent.jar -Dpgreclaim.mode=terminate ... -jar app.jar\n"
                + "As a tool:    java -jar pg-reclaim-agent.jar <command> [options]\n"
                + "\n"
                + "Commands:\n"
                + "  status    per role: connection limit, current/active/idle sessions; then the sessions\n"
                + "  reclaim   terminate a role's longest-idle eligible sessions, with the agent's victim rules\n"
                + "  attach    load the agent into a running JVM (pid) with a policy\n"
                + "  help      this text; 'help <command>' or '<command> --help' for a command's options\n"
                + "\n"
                + "Password of the admin role: --password-file F, env PGRECLAIM_ADMIN_PASSWORD, or ~/.pgpass;\n"
                + "never on the command line.\n"
                + "\n"
                + "Exit codes: 0 done; 1 nothing to reclaim; 2 usage, connection or privilege error.\n";
    }
}
