package dev.pgreclaim.cli;

import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.sql.Driver;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The CLI's own pgjdbc: a copy nested in the agent jar under {@code META-INF/pg-reclaim/postgresql.jar}, extracted
 * to a temporary file and loaded by a private class loader whose parent is the platform (Java 8: extension) loader.
 * So the jar never puts {@code org.postgresql} on any class path an application could see when it is attached as
 * an agent, and pgjdbc is not relocated (shade would also rewrite string constants naming it).
 *
 * <p>The driver is used through {@link Driver#connect} directly: {@code DriverManager} refuses drivers whose class
 * loader the caller cannot see.
 */
final class NestedDriver implements AutoCloseable {
    static final String RESOURCE = "META-INF/pg-reclaim/postgresql.jar";
    private static final String DRIVER_CLASS = "org.postgresql.Driver";

    /** pgjdbc logs through java.util.logging; the CLI reports failures itself. Strong ref: JUL keeps weak ones. */
    private static final Logger PGJDBC_LOG = Logger.getLogger("org.postgresql");

    private final File jar;
    private final URLClassLoader loader;
    private final Driver driver;

    private NestedDriver(File jar, URLClassLoader loader, Driver driver) {
        this.jar = jar;
        this.loader = loader;
        this.driver = driver;
    }

    static NestedDriver load() throws CliException {
        File jar = null;
        URLClassLoader loader = null;
        try {
            PGJDBC_LOG.setLevel(Level.OFF);
            jar = extract();
            // The system loader's parent: the platform loader on Java 9+ (sees java.sql), the extension loader on 8.
            ClassLoader parent = ClassLoader.getSystemClassLoader().getParent();
            loader = new URLClassLoader(new URL[] {jar.toURI().toURL()}, parent);
            Class<?> type = Class.forName(DRIVER_CLASS, true, loader);
            Driver driver = (Driver) type.getConstructor().newInstance();
            return new NestedDriver(jar, loader, driver);
        } catch (IOException | ReflectiveOperationException | LinkageError | ClassCastException failure) {
            closeQuietly(loader);
            if (jar != null && !jar.delete()) {
                jar.deleteOnExit();
            }
            throw new CliException(ExitCode.ERROR, "cannot load the CLI's PostgreSQL driver from " + RESOURCE
                    + " in the agent jar (run the CLI with java -jar pg-reclaim-agent.jar): " + failure, failure);
        }
    }

    private static File extract() throws IOException {
        InputStream in = NestedDriver.class.getClassLoader().getResourceAsStream(RESOURCE);
        if (in == null) {
            throw new IOException(RESOURCE + " not found");
        }
        File jar = File.createTempFile("pg-reclaim-driver-", ".jar");
        jar.deleteOnExit();
        try {
            OutputStream out = new FileOutputStream(jar);
            try {
                byte[] buffer = new byte[64 * 1024];
                int n;
                while ((n = in.read(buffer)) > 0) {
                    out.write(buffer, 0, n);
                }
            } finally {
                out.close();
            }
        } finally {
            in.close();
        }
        return jar;
    }

    Driver driver() {
        return driver;
    }

    /** e.g. {@code 42.7.4}, for error messages. */
    String version() {
        return driver.getMajorVersion() + "." + driver.getMinorVersion();
    }

    @Override
    public void close() {
        closeQuietly(loader);
        if (!jar.delete()) {
            jar.deleteOnExit();
        }
    }

    private static void closeQuietly(URLClassLoader loader) {
        if (loader != null) {
            try {
                loader.close();
            } catch (IOException ignored) {
                // a temporary file; deleteOnExit covers it
            }
        }
    }
}
