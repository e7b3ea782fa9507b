package dev.pgreclaim.demo;

import java.io.Console;
import java.io.PrintStream;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;

/**
 * Everything the demo prints: numbered steps, their details, checks, commands and the output of the processes it
 * ran. ANSI colours only when standard output is a terminal (as the CLI decides) and {@code NO_COLOR} is not set.
 */
final class Narrator {
    private static final String RESET = "\u001b[0m";
    private static final String BOLD = "\u001b[1m";
    private static final String DIM = "\u001b[2m";
    private static final String RED = "\u001b[31m";
    private static final String GREEN = "\u001b[32m";
    private static final String YELLOW = "\u001b[33m";
    private static final String CYAN = "\u001b[36m";
    private static final String INDENT = "      ";
    /** Characters of process output per line, after the indent and the label. */
    private static final int FOLD_WIDTH = 100;

    private final PrintStream out;
    private final boolean colour;
    private final int totalSteps;
    private int step;
    private volatile Thread speaker;

    Narrator(PrintStream out, boolean colour, int totalSteps) {
        this.out = out;
        this.colour = colour;
        this.totalSteps = totalSteps;
    }

    /**
     * True when stdout is an interactive terminal that understands colours and the user did not opt out. The same
     * decision as the CLI's {@code --color auto} ({@code dev.pgreclaim.cli.Colour}, which the demo may not link: the
     * agent reaches it only through {@code -javaagent}): {@code System.console()} alone is not enough, Java 22+
     * returns one when output is piped, and then {@code Console.isTerminal()} tells.
     */
    static boolean colourWanted() {
        String noColour = System.getenv("NO_COLOR");
        if (noColour != null && !noColour.isEmpty()) {
            return false;
        }
        String term = System.getenv("TERM");
        if (term == null || term.isEmpty() || term.equals("dumb")) {
            return false;
        }
        Console console = System.console();
        if (console == null) {
            return false;
        }
        try {
            Method isTerminal = Console.class.getMethod("isTerminal");
            return Boolean.TRUE.equals(isTerminal.invoke(console));
        } catch (ReflectiveOperationException | RuntimeException beforeJava22) {
            return true;
        }
    }

    /**
     * From now on only the calling thread is heard: after Ctrl-C the shutdown hook tells what it cleans up, while
     * the story's thread, whose processes are being stopped under it, stays quiet.
     */
    void onlyFrom(Thread thread) {
        speaker = thread;
    }

    private void line(String text) {
        Thread only = speaker;
        if (only == null || only == Thread.currentThread()) {
            out.println(text);
        }
    }

    private String paint(String style, String text) {
        return colour ? style + text + RESET : text;
    }

    void title(String line) {
        line(paint(BOLD, line));
    }

    void plain(String line) {
        line(line);
    }

    void blank() {
        line("");
    }

    /** Names the next step before it runs: {@code [3/8] ...}. */
    void step(String what) {
        step++;
        line("");
        line(paint(BOLD + CYAN, String.format("[%d/%d] ", step, totalSteps)) + paint(BOLD, what));
        out.flush();
    }

    /** A line of explanation under the current step. */
    void say(String line) {
        line(INDENT + line);
        out.flush();
    }

    /** SQL as typed at a psql prompt connected to {@code database}, continuation lines with psql's {@code -#}. */
    void sql(String database, String statement) {
        String[] lines = statement.split("\\R");
        for (int i = 0; i < lines.length; i++) {
            line(INDENT + paint(DIM, database + (i == 0 ? "=# " : "-# ")) + lines[i]);
        }
    }

    /** A command as the reader could type it, continuation lines indented under it. */
    void command(String... lines) {
        for (int i = 0; i < lines.length; i++) {
            String prefix = i == 0 ? "$ " : "    ";
            String suffix = i < lines.length - 1 ? " \\" : "";
            line(INDENT + paint(YELLOW, prefix + lines[i] + suffix));
        }
        out.flush();
    }

    /**
     * Output of a process the demo ran, labelled with who said it. Long lines (the agent's policy line) are folded at
     * spaces, the continuation indented, so the story stays readable in an ordinary terminal.
     */
    void output(String who, String text) {
        for (String line : text.split("\\R")) {
            if (line.isBlank()) {
                continue;
            }
            boolean first = true;
            for (String part : fold(line, FOLD_WIDTH)) {
                line(INDENT + paint(DIM, who + " | ") + (first ? "" : "    ") + highlight(part));
                first = false;
            }
        }
        out.flush();
    }

    static List<String> fold(String line, int width) {
        List<String> parts = new ArrayList<>();
        String rest = line;
        int limit = width;
        while (rest.length() > limit) {
            int cut = rest.lastIndexOf(' ', limit);
            if (cut <= 0) {
                cut = rest.indexOf(' ', limit);
                if (cut < 0) {
                    break;
                }
            }
            parts.add(rest.substring(0, cut));
            rest = rest.substring(cut + 1);
            limit = width - 4;
        }
        parts.add(rest);
        return parts;
    }

    private String highlight(String line) {
        if (line.contains("AUDIT") || line.contains("refused:")) {
            return paint(BOLD, line);
        }
        return line;
    }

    /** Verbatim block (a table), indented. */
    void block(String text) {
        for (String line : text.split("\\R", -1)) {
            line(line.isEmpty() ? "" : INDENT + line);
        }
        out.flush();
    }

    /** A check that held. */
    void ok(String line) {
        line(INDENT + paint(GREEN + BOLD, "ok ") + line);
        out.flush();
    }

    /** A check that did not hold; the demo stops after it. */
    void failed(String line) {
        line(INDENT + paint(RED + BOLD, "FAILED ") + line);
        out.flush();
    }

    void error(String line) {
        line(paint(RED + BOLD, line));
        out.flush();
    }

    void success(String line) {
        line(paint(GREEN + BOLD, line));
        out.flush();
    }
}
