package dev.pgreclaim.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A command's arguments: {@code --name value}, {@code --name=value}, {@code --flag}, and positional words. Every
 * option must be known to the command: a mistyped option must stop a tool that terminates sessions, not be ignored.
 */
final class Args {
    private final Map<String, String> values = new LinkedHashMap<String, String>();
    private final List<String> positionals = new ArrayList<String>();

    private Args() {
    }

    /**
     * @param valued options that take a value (names with the leading {@code --})
     * @param flags options without a value
     */
    static Args parse(String command, List<String> argv, Set<String> valued, Set<String> flags) throws CliException {
        Args args = new Args();
        for (int i = 0; i < argv.size(); i++) {
            String word = argv.get(i);
            if (!word.startsWith("--") || word.equals("--")) {
                args.positionals.add(word);
                continue;
            }
            int eq = word.indexOf('=');
            String name = eq > 0 ? word.substring(0, eq) : word;
            if (flags.contains(name)) {
                if (eq > 0) {
                    throw CliException.usage(name + " takes no value (" + Cli.seeHelp(command) + ")");
                }
                args.values.put(name, "true");
            } else if (valued.contains(name)) {
                String value;
                if (eq > 0) {
                    value = word.substring(eq + 1);
                } else if (i + 1 < argv.size()) {
                    value = argv.get(++i);
                } else {
                    throw CliException.usage(name + " needs a value (" + Cli.seeHelp(command) + ")");
                }
                if (args.values.containsKey(name)) {
                    throw CliException.usage(name + " given twice");
                }
                args.values.put(name, value);
            } else if (name.equals("--password")) {
                throw CliException.usage("there is no --password option: a password on the command line is visible"
                        + " to ps; use PGRECLAIM_ADMIN_PASSWORD, --password-file or ~/.pgpass");
            } else {
                throw CliException.usage("unknown option " + name + " for " + command + " (" + Cli.seeHelp(command)
                        + ")");
            }
        }
        return args;
    }

    boolean flag(String name) {
        return values.containsKey(name);
    }

    /** The value, or null when the option was not given. */
    String get(String name) {
        return values.get(name);
    }

    String require(String command, String name) throws CliException {
        String value = values.get(name);
        if (value == null || value.trim().isEmpty()) {
            throw CliException.usage(command + " needs " + name + " (" + Cli.seeHelp(command) + ")");
        }
        return value.trim();
    }

    int intValue(String name, int defaultValue, int min, int max) throws CliException {
        String value = values.get(name);
        if (value == null) {
            return defaultValue;
        }
        try {
            int parsed = Integer.parseInt(value.trim());
            if (parsed >= min && parsed <= max) {
                return parsed;
            }
        } catch (NumberFormatException notANumber) {
            // reported below
        }
        throw CliException.usage(name + "='" + value + "' is invalid: expected a whole number from " + min + " to "
                + max);
    }

    List<String> positionals() {
        return positionals;
    }
}
