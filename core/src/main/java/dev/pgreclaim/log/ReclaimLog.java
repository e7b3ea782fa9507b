package dev.pgreclaim.log;

import java.lang.reflect.Method;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The logging of pg-reclaim, agent and wrapper alike. It ships no SLF4J of its own (it could clash with the
 * application's): once the application's SLF4J with a binding is visible from the driver's class loader, lines go
 * there (logger {@code dev.pgreclaim}, audit lines on {@code dev.pgreclaim.audit}); otherwise they go to stderr in a
 * compact form, {@code [pg-reclaim] LEVEL message}. Messages use {@code {}} placeholders.
 */
public final class ReclaimLog {
    /** Stable prefix of every audit line, for grep. */
    public static final String AUDIT_PREFIX = "pg-reclaim AUDIT";

    private static final long ONCE_INTERVAL_NANOS = 10L * 60 * 1_000_000_000L;

    enum Level { DEBUG, INFO, WARN, ERROR }

    private static volatile ClassLoader applicationLoader;
    private static volatile Sink sink;
    private static final ConcurrentHashMap<String, Long> ONCE = new ConcurrentHashMap<String, Long>();
    /** Keys of rate-limited warnings kept at most. */
    static final int MAX_ONCE_KEYS = 4096;

    private ReclaimLog() {
    }

    /** Where to look for the application's SLF4J: the loader that defined {@code org.postgresql.Driver}. */
    public static void useApplicationLoader(ClassLoader loader) {
        if (loader != null && loader != applicationLoader) {
            applicationLoader = loader;
            sink = null;
        }
    }

    public static void debug(String format, Object... args) {
        log("dev.pgreclaim", Level.DEBUG, format, args);
    }

    public static void info(String format, Object... args) {
        log("dev.pgreclaim", Level.INFO, format, args);
    }

    public static void warn(String format, Object... args) {
        log("dev.pgreclaim", Level.WARN, format, args);
    }

    public static void error(String format, Object... args) {
        log("dev.pgreclaim", Level.ERROR, format, args);
    }

    /** One line per termination, on its own logger, with the stable {@link #AUDIT_PREFIX}. */
    public static void audit(String format, Object... args) {
        log("dev.pgreclaim.audit", Level.WARN, AUDIT_PREFIX + " " + format, args);
    }

    /**
     * An audit line for a refusal the agent deliberately did not act on (say, the application was not starving), at
     * most once per interval per key: once per burst, not once per refused open.
     */
    public static void auditAtMostEvery(String key, long intervalMillis, String format, Object... args) {
        if (firstIn(key, intervalMillis * 1_000_000L)) {
            audit(format, args);
        }
    }

    /**
     * A warning said once (per key, then at most every ten minutes), for conditions that would otherwise repeat
     * on every refused open: a wrong admin password, a missing privilege, an exhausted budget.
     */
    public static void warnOnce(String key, String format, Object... args) {
        if (firstIn(key, ONCE_INTERVAL_NANOS)) {
            warn(format, args);
        }
    }

    /** A warning said at most once per interval per key (e.g. refusals in observe mode without an admin role). */
    public static void warnAtMostEvery(String key, long intervalMillis, String format, Object... args) {
        if (firstIn(key, intervalMillis * 1_000_000L)) {
            warn(format, args);
        }
    }

    private static boolean firstIn(String key, long intervalNanos) {
        long now = System.nanoTime();
        if (ONCE.size() >= MAX_ONCE_KEYS) {
            // an application opening as thousands of roles (keys name the role): forget, rather than grow; at worst
            // a warning is said once more
            ONCE.clear();
        }
        Long last = ONCE.get(key);
        if (last != null && now - last < intervalNanos) {
            return false;
        }
        ONCE.put(key, now);
        return true;
    }

    private static void log(String logger, Level level, String format, Object[] args) {
        try {
            Throwable thrown = null;
            if (args != null && args.length > 0 && args[args.length - 1] instanceof Throwable) {
                thrown = (Throwable) args[args.length - 1];
            }
            String message = format(format, args);
            Sink current = sink;
            if (current == null) {
                current = resolveSink();
            }
            current.log(logger, level, message, thrown);
        } catch (Throwable loggingFailure) {
            // Logging must never break the caller's open.
        }
    }

    /** SLF4J-style formatting: each {@code {}} takes the next argument. */
    static String format(String format, Object[] args) {
        if (args == null || args.length == 0) {
            return format;
        }
        StringBuilder out = new StringBuilder(format.length() + 32 * args.length);
        int arg = 0;
        int from = 0;
        while (true) {
            int at = format.indexOf("{}", from);
            if (at < 0 || arg >= args.length) {
                out.append(format, from, format.length());
                break;
            }
            out.append(format, from, at).append(String.valueOf(args[arg++]));
            from = at + 2;
        }
        return out.toString();
    }

    private static synchronized Sink resolveSink() {
        if (sink != null) {
            return sink;
        }
        ClassLoader loader = applicationLoader;
        if (loader == null) {
            loader = ClassLoader.getSystemClassLoader();
        }
        Slf4jSink slf4j = Slf4jSink.tryCreate(loader);
        if (slf4j == Slf4jSink.NOT_READY) {
            return StderrSink.INSTANCE;
        }
        sink = slf4j != null ? slf4j : StderrSink.INSTANCE;
        return sink;
    }

    interface Sink {
        void log(String logger, Level level, String message, Throwable thrown);
    }

    static final class StderrSink implements Sink {
        static final StderrSink INSTANCE = new StderrSink();

        @Override
        public void log(String logger, Level level, String message, Throwable thrown) {
            if (level == Level.DEBUG) {
                return;
            }
            StringBuilder line = new StringBuilder(message.length() + 24);
            String text = message.startsWith("pg-reclaim: ") ? message.substring("pg-reclaim: ".length()) : message;
            line.append("[pg-reclaim] ").append(level.name()).append(' ').append(text);
            if (thrown != null) {
                line.append(" (").append(thrown.getClass().getName()).append(": ").append(thrown.getMessage())
                        .append(')');
            }
            System.err.println(line);
        }
    }

    /** Forwards to the application's SLF4J by reflection, so the agent links to no SLF4J version. */
    static final class Slf4jSink implements Sink {
        static final Slf4jSink NOT_READY = new Slf4jSink(null, null, null, null, null, null, null);

        private final Method getLogger;
        private final Method debug;
        private final Method info;
        private final Method warn;
        private final Method error;
        private final Method warnThrown;
        private final Method errorThrown;
        private final ConcurrentHashMap<String, Object> loggers = new ConcurrentHashMap<String, Object>();

        private Slf4jSink(Method getLogger, Method debug, Method info, Method warn, Method error, Method warnThrown,
                Method errorThrown) {
            this.getLogger = getLogger;
            this.debug = debug;
            this.info = info;
            this.warn = warn;
            this.error = error;
            this.warnThrown = warnThrown;
            this.errorThrown = errorThrown;
        }

        /** A sink, null when the application has no SLF4J binding, NOT_READY while its logging initialises. */
        static Slf4jSink tryCreate(ClassLoader loader) {
            try {
                Class<?> factory = Class.forName("org.slf4j.LoggerFactory", true, loader);
                Object loggerFactory = factory.getMethod("getILoggerFactory").invoke(null);
                String factoryName = loggerFactory == null ? "" : loggerFactory.getClass().getName();
                if (factoryName.equals("org.slf4j.helpers.SubstituteLoggerFactory")) {
                    return NOT_READY;
                }
                if (loggerFactory == null || factoryName.equals("org.slf4j.helpers.NOPLoggerFactory")) {
                    return null;
                }
                Class<?> logger = Class.forName("org.slf4j.Logger", false, loader);
                return new Slf4jSink(factory.getMethod("getLogger", String.class),
                        logger.getMethod("debug", String.class), logger.getMethod("info", String.class),
                        logger.getMethod("warn", String.class), logger.getMethod("error", String.class),
                        logger.getMethod("warn", String.class, Throwable.class),
                        logger.getMethod("error", String.class, Throwable.class));
            } catch (Throwable noSlf4j) {
                return null;
            }
        }

        @Override
        public void log(String name, Level level, String message, Throwable thrown) {
            try {
                Object logger = loggers.get(name);
                if (logger == null) {
                    logger = getLogger.invoke(null, name);
                    loggers.put(name, logger);
                }
                switch (level) {
                    case DEBUG:
                        debug.invoke(logger, message);
                        break;
                    case INFO:
                        info.invoke(logger, message);
                        break;
                    case WARN:
                        if (thrown != null) {
                            warnThrown.invoke(logger, message, thrown);
                        } else {
                            warn.invoke(logger, message);
                        }
                        break;
                    default:
                        if (thrown != null) {
                            errorThrown.invoke(logger, message, thrown);
                        } else {
                            error.invoke(logger, message);
                        }
                }
            } catch (Throwable slf4jFailure) {
                StderrSink.INSTANCE.log(name, level, message, thrown);
            }
        }
    }
}
