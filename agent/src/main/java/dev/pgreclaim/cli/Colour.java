package dev.pgreclaim.cli;

import java.io.Console;
import java.lang.reflect.Method;
import java.util.Map;

/** ANSI highlighting, on a terminal only ({@code --color auto}), never when {@code NO_COLOR} is set. */
final class Colour {
    static final String OPTION = "--color";
    private static final String RED_BOLD = "\u001b[1;31m";
    private static final String YELLOW = "\u001b[33m";
    private static final String RESET = "\u001b[0m";

    private final boolean enabled;

    private Colour(boolean enabled) {
        this.enabled = enabled;
    }

    static Colour choose(String option, Map<String, String> environment) throws CliException {
        String mode = option == null ? "auto" : option.trim();
        if (mode.equals("always")) {
            return new Colour(true);
        }
        if (mode.equals("never")) {
            return new Colour(false);
        }
        if (!mode.equals("auto")) {
            throw CliException.usage(OPTION + "='" + option + "' is invalid: expected auto, always or never");
        }
        String noColor = environment.get("NO_COLOR");
        boolean dumb = "dumb".equals(environment.get("TERM"));
        return new Colour(noColor == null || noColor.isEmpty() ? !dumb && isTerminal() : false);
    }

    /** Java 22+ returns a Console even when redirected; {@code Console.isTerminal()} then tells. */
    private static boolean isTerminal() {
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

    String atLimit(String text) {
        return enabled ? RED_BOLD + text + RESET : text;
    }

    String near(String text) {
        return enabled ? YELLOW + text + RESET : text;
    }
}
