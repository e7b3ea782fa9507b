package dev.pgreclaim.jdbc;

import dev.pgreclaim.log.ReclaimLog;
import java.lang.ref.WeakReference;
import java.sql.Driver;
import java.sql.SQLException;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * The application's own {@code org.postgresql.Driver}, loaded by name and instantiated: never looked up through
 * {@code DriverManager} (which would hand back whichever driver claims the URL first, and could hand back this
 * wrapper), never linked (pgjdbc is the application's, any 42.x). The instance is also the driver the core opens its
 * admin login through and reads {@code parseURL} from.
 */
final class PgjdbcDriver {
    static final String DRIVER_CLASS = "org.postgresql.Driver";

    /** The driver visible from the wrapper's own class loader (the common case: both jars on one class path). */
    private static volatile Driver own;
    private static volatile boolean ownMissing;
    /** Drivers of other loaders (a wrapper in a server's lib, pgjdbc in the web application); weakly held. */
    private static final Map<ClassLoader, WeakReference<Driver>> BY_LOADER =
            new WeakHashMap<ClassLoader, WeakReference<Driver>>();

    private PgjdbcDriver() {
    }

    /** The driver for an open of the wrapper driver: the wrapper's class loader first, then the thread's. */
    static Driver find() throws SQLException {
        Driver found = own;
        if (found != null) {
            return found;
        }
        ClassLoader ownLoader = ownLoader();
        if (!ownMissing) {
            found = load(ownLoader);
            if (found != null) {
                own = found;
                return found;
            }
            ownMissing = true;
        }
        ClassLoader context = Thread.currentThread().getContextClassLoader();
        if (context != null && context != ownLoader) {
            found = forLoader(context);
            if (found != null) {
                return found;
            }
        }
        throw new SQLException("pg-reclaim: " + DRIVER_CLASS + " is not on the class path: pg-reclaim-jdbc opens"
                + " connections through the application's own pgjdbc (org.postgresql:postgresql)", "08001");
    }

    /** The driver as {@code loader} sees it (a target DataSource's loader), or null when it sees none. */
    static Driver forLoader(ClassLoader loader) {
        ClassLoader key = loader == null ? ownLoader() : loader;
        synchronized (BY_LOADER) {
            WeakReference<Driver> cached = BY_LOADER.get(key);
            Driver driver = cached == null ? null : cached.get();
            if (driver != null) {
                return driver;
            }
        }
        Driver driver = load(key);
        if (driver != null) {
            synchronized (BY_LOADER) {
                BY_LOADER.put(key, new WeakReference<Driver>(driver));
            }
        }
        return driver;
    }

    private static ClassLoader ownLoader() {
        ClassLoader loader = PgjdbcDriver.class.getClassLoader();
        return loader == null ? ClassLoader.getSystemClassLoader() : loader;
    }

    private static Driver load(ClassLoader loader) {
        try {
            Class<?> type = Class.forName(DRIVER_CLASS, true, loader);
            if (!Driver.class.isAssignableFrom(type)) {
                return null;
            }
            Driver driver = (Driver) type.getConstructor().newInstance();
            // The application's SLF4J, if any, is the one beside its driver.
            ReclaimLog.useApplicationLoader(type.getClassLoader());
            return driver;
        } catch (ClassNotFoundException | LinkageError notThere) {
            return null;
        } catch (ReflectiveOperationException | RuntimeException unusable) {
            ReclaimLog.warnOnce("jdbc-driver-load", "pg-reclaim: {} found but not usable: {}", DRIVER_CLASS,
                    unusable.toString());
            return null;
        }
    }
}
