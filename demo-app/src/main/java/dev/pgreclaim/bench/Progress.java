package dev.pgreclaim.bench;

import java.io.PrintStream;
import java.util.Locale;

/**
 * Progress of one part of a figure, on stderr (stdout carries the tables): which figure, how many of its steps are
 * done, and the time left at the rate so far. At most one line every two seconds, plus the last.
 */
final class Progress {
    private static final long EVERY_NANOS = 2_000_000_000L;
    private static PrintStream out = System.err;

    private final String label;
    private final int total;
    private final String unit;
    private final long startNanos = System.nanoTime();
    private long printedNanos;
    private int done;

    private Progress(String label, int total, String unit) {
        this.label = label;
        this.total = total;
        this.unit = unit;
        print();
    }

    /** e.g. {@code [2/5 recovery] 0/210 rounds}. */
    static Progress of(BenchContext context, String part, int total, String unit) {
        return new Progress("[" + context.figureNumber + "/" + context.figureCount + " " + context.figure
                + (part.isEmpty() ? "" : ": " + part) + "]", total, unit);
    }

    static void note(BenchContext context, String text) {
        out.println("[" + context.figureNumber + "/" + context.figureCount + " " + context.figure + "] " + text);
        out.flush();
    }

    /** For tests of the output: where progress lines go. */
    static void redirect(PrintStream target) {
        out = target;
    }

    void step() {
        set(done + 1);
    }

    synchronized void set(int doneNow) {
        done = Math.min(doneNow, total);
        long now = System.nanoTime();
        if (done == total || now - printedNanos >= EVERY_NANOS) {
            print();
        }
    }

    private void print() {
        long now = System.nanoTime();
        printedNanos = now;
        double elapsed = (now - startNanos) / 1e9;
        String left = done == 0 ? "time left unknown yet" : done >= total ? "done"
                : String.format(Locale.ROOT, "about %.0f s left", elapsed / done * (total - done));
        out.println(String.format(Locale.ROOT, "%s %d/%d %s, %.0f s elapsed, %s", label, done, total, unit, elapsed,
                left));
        out.flush();
    }
}
