package dev.pgreclaim.demo;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.function.Consumer;

/**
 * What the demo started, undone in reverse order exactly once: at the end of the story, after a failed step, or from
 * the shutdown hook on Ctrl-C. Each action is best effort; one that fails does not stop the others.
 */
final class Cleanup {
    /** One thing to undo. */
    interface Action {
        void run() throws Exception;
    }

    private record Entry(String description, Action action) {
    }

    private final Deque<Entry> entries = new ArrayDeque<>();

    synchronized void add(String description, Action action) {
        entries.push(new Entry(description, action));
    }

    /** Runs every registered action, newest first, reporting each through {@code report}. Idempotent. */
    synchronized void runAll(Consumer<String> report) {
        while (!entries.isEmpty()) {
            Entry entry = entries.pop();
            try {
                entry.action().run();
                report.accept(entry.description());
            } catch (Exception | LinkageError failure) {
                report.accept(entry.description() + " -- failed: " + failure);
            }
        }
    }
}
