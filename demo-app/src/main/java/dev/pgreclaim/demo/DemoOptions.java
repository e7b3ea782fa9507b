package dev.pgreclaim.demo;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

/** The demo's command-line options and their environment twins. */
record DemoOptions(Path agentJar, String serverKind, String url, String user, String password) {

    static final String USAGE = String.join("\n",
            "usage: java -jar demo-app/target/pg-reclaim-demo.jar [options]",
            "",
            "Replays the seed story (a role's only connection slot held by a forgotten idle session) and shows the",
            "pg-reclaim agent reclaiming it. Exits 0 only when every step happened as described.",
            "",
            "  --agent-jar PATH        the agent (default agent/target/pg-reclaim-agent.jar, from the repository root)",
            "  --server KIND           auto (default) | local | embedded: the private PostgreSQL the demo starts;",
            "                          auto tries the local PostgreSQL binaries, then embedded ones (zonky)",
            "                          env PGRECLAIM_DEMO_SERVER",
            "  --url JDBC_URL          use this existing server instead, e.g. "
                    + "jdbc:postgresql://localhost:5432/postgres",
            "                          env PGRECLAIM_DEMO_URL; the demo creates and then drops some_user, some_db and",
            "                          pgreclaim_admin there, and refuses to run if any of them already exists",
            "  --user NAME             superuser for --url (default postgres), env PGRECLAIM_DEMO_USER",
            "  --password-file PATH    file holding that superuser's password; or env PGRECLAIM_DEMO_PASSWORD",
            "  --help                  this text",
            "",
            "Colours only when standard output is a terminal; NO_COLOR=1 turns them off.");

    /** Thrown for a bad command line: the message is for the user, followed by the usage. */
    static final class UsageException extends Exception {
        private static final long serialVersionUID = 1L;

        UsageException(String message) {
            super(message);
        }
    }

    static DemoOptions parse(String[] args, Map<String, String> env, Path defaultAgentJar) throws UsageException {
        Path agentJar = defaultAgentJar;
        String server = blankToNull(env.get("PGRECLAIM_DEMO_SERVER"));
        String url = blankToNull(env.get("PGRECLAIM_DEMO_URL"));
        String user = blankToNull(env.get("PGRECLAIM_DEMO_USER"));
        String password = env.get("PGRECLAIM_DEMO_PASSWORD");
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            String name = arg;
            String value = null;
            int eq = arg.indexOf('=');
            if (arg.startsWith("--") && eq > 0) {
                name = arg.substring(0, eq);
                value = arg.substring(eq + 1);
            }
            if (name.equals("--help") || name.equals("-h")) {
                throw new UsageException(null);
            }
            if (!name.equals("--agent-jar") && !name.equals("--server") && !name.equals("--url")
                    && !name.equals("--user") && !name.equals("--password-file")) {
                throw new UsageException("unknown option " + arg);
            }
            if (value == null) {
                if (i + 1 >= args.length) {
                    throw new UsageException(name + " needs a value");
                }
                value = args[++i];
            }
            switch (name) {
                case "--agent-jar" -> agentJar = Path.of(value);
                case "--server" -> server = value;
                case "--url" -> url = value;
                case "--user" -> user = value;
                default -> password = readPasswordFile(Path.of(value));
            }
        }
        String kind = server == null ? "auto" : server.toLowerCase(Locale.ROOT);
        if (!kind.equals("auto") && !kind.equals("local") && !kind.equals("embedded")) {
            throw new UsageException("--server must be auto, local or embedded, not " + server);
        }
        if (url != null && !url.startsWith("jdbc:postgresql://")) {
            throw new UsageException("--url must look like jdbc:postgresql://host:5432/postgres, not " + url);
        }
        return new DemoOptions(agentJar, kind, url, user == null ? "postgres" : user, password);
    }

    private static String readPasswordFile(Path file) throws UsageException {
        try {
            String text = Files.readString(file, StandardCharsets.UTF_8);
            return text.endsWith("\n") ? text.substring(0, text.length() - 1) : text;
        } catch (IOException e) {
            throw new UsageException("cannot read --password-file " + file + ": " + e.getMessage());
        }
    }

    @Override
    public String toString() {
        return "DemoOptions[agentJar=" + agentJar + ", server=" + serverKind + ", url=" + url + ", user=" + user
                + ", password=" + (password == null ? "none" : "(set)") + "]";
    }

    private static String blankToNull(String value) {
        return value == null || value.isBlank() ? null : value.trim();
    }
}
