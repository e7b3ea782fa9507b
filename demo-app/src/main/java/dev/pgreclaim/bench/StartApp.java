package dev.pgreclaim.bench;

/**
 * Child program of the JVM-start figure. {@code StartApp none} touches no JDBC at all; {@code StartApp driver}
 * loads and initialises {@code org.postgresql.Driver} (which registers itself with DriverManager) and nothing more.
 */
public final class StartApp {
    private StartApp() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("driver")) {
            Class.forName("org.postgresql.Driver");
        }
        System.out.println("ok");
    }
}
