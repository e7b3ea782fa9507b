package dev.pgreclaim.reclaim;

import java.io.File;
import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.security.CodeSource;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;

/**
 * Loads and initialises the classes of the reclaim path ahead of need, on a background thread of pg-reclaim (agent
 * or wrapper) a while after the driver loaded, so that the first refused open of a JVM does not wait for them to be
 * read, verified and initialised in interpreted code. The classes are found in pg-reclaim's own code source (jar or
 * directory), so the set never goes stale. Best effort: a class that cannot be loaded here simply loads on first
 * use, as without this.
 */
public final class Prewarm {
    /** The packages whose classes a reclaim uses; {@code metrics/} is left out (its MBean loads JMX). */
    static final String[] PACKAGES = {"dev/pgreclaim/reclaim/", "dev/pgreclaim/log/"};

    private Prewarm() {
    }

    /** Returns how many classes were loaded and initialised. */
    public static int run() {
        ClassLoader loader = Prewarm.class.getClassLoader();
        int initialised = 0;
        for (String name : classNames(codeSourceOf(Prewarm.class))) {
            try {
                Class.forName(name, true, loader);
                initialised++;
            } catch (Throwable notLoadable) {
                // loads (or fails) on first use instead, exactly as without the prewarm
            }
        }
        Reclaimer.prewarm();
        return initialised;
    }

    static File codeSourceOf(Class<?> type) {
        CodeSource source = type.getProtectionDomain().getCodeSource();
        URL location = source == null ? null : source.getLocation();
        if (location == null) {
            return null;
        }
        try {
            return new File(location.toURI());
        } catch (URISyntaxException | IllegalArgumentException notAFile) {
            return null;
        }
    }

    /** Binary names of the classes under {@link #PACKAGES} in a jar or a class directory; empty when unreadable. */
    static List<String> classNames(File codeSource) {
        List<String> names = new ArrayList<String>();
        if (codeSource == null) {
            return names;
        }
        if (codeSource.isDirectory()) {
            for (String pkg : PACKAGES) {
                collect(new File(codeSource, pkg), pkg, names);
            }
            return names;
        }
        try {
            JarFile jar = new JarFile(codeSource, false);
            try {
                for (Enumeration<JarEntry> entries = jar.entries(); entries.hasMoreElements();) {
                    String entry = entries.nextElement().getName();
                    if (entry.endsWith(".class") && inPackages(entry)) {
                        names.add(toBinaryName(entry));
                    }
                }
            } finally {
                jar.close();
            }
        } catch (IOException | SecurityException unreadable) {
            names.clear();
        }
        return names;
    }

    private static void collect(File dir, String path, List<String> names) {
        File[] files = dir.listFiles();
        if (files == null) {
            return;
        }
        for (File file : files) {
            if (file.isDirectory()) {
                collect(file, path + file.getName() + "/", names);
            } else if (file.getName().endsWith(".class")) {
                names.add(toBinaryName(path + file.getName()));
            }
        }
    }

    private static boolean inPackages(String entry) {
        for (String pkg : PACKAGES) {
            if (entry.startsWith(pkg)) {
                return true;
            }
        }
        return false;
    }

    private static String toBinaryName(String entry) {
        return entry.substring(0, entry.length() - ".class".length()).replace('/', '.');
    }
}
