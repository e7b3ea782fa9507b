package dev.pgreclaim.bench;

import java.util.Arrays;
import java.util.List;

/** Order statistics over a sample of durations (nanoseconds) or sizes. */
final class Stats {
    private final long[] sorted;

    Stats(long[] values) {
        this.sorted = values.clone();
        Arrays.sort(sorted);
    }

    static Stats of(List<Long> values) {
        long[] array = new long[values.size()];
        for (int i = 0; i < array.length; i++) {
            array[i] = values.get(i);
        }
        return new Stats(array);
    }

    int count() {
        return sorted.length;
    }

    /**
     * Nearest-rank percentile (p in 0..100); NaN when empty, so that an empty sample prints as "none" and fails
     * every target it is compared with (a comparison with NaN is false) instead of reading as 0 ms.
     */
    double percentile(double p) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }

    /** The median (mean of the two middle values for an even count); NaN when empty. */
    double median() {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        int mid = sorted.length / 2;
        return sorted.length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2.0;
    }

    /** NaN when empty. */
    double max() {
        return sorted.length == 0 ? Double.NaN : sorted[sorted.length - 1];
    }

    static String ms(double nanos) {
        return Double.isNaN(nanos) ? "none" : String.format(java.util.Locale.ROOT, "%.2f ms", nanos / 1e6);
    }

    static String mib(double kib) {
        return Double.isNaN(kib) ? "none" : String.format(java.util.Locale.ROOT, "%.1f MiB", kib / 1024.0);
    }

    static String signedMs(double nanos) {
        return Double.isNaN(nanos) ? "none" : String.format(java.util.Locale.ROOT, "%+.1f ms", nanos / 1e6);
    }

    static String signedMib(double kib) {
        return Double.isNaN(kib) ? "none" : String.format(java.util.Locale.ROOT, "%+.2f MiB", kib / 1024.0);
    }

    /** Parses a line of space-separated longs after a tag, e.g. {@code SAMPLES_NS 1 2 3}. */
    static long[] parseTagged(String output, String tag) {
        for (String line : output.split("\n")) {
            if (line.startsWith(tag + " ") || line.equals(tag)) {
                String rest = line.substring(tag.length()).trim();
                if (rest.isEmpty()) {
                    return new long[0];
                }
                String[] parts = rest.split(" ");
                long[] values = new long[parts.length];
                for (int i = 0; i < parts.length; i++) {
                    values[i] = Long.parseLong(parts[i]);
                }
                return values;
            }
        }
        throw new IllegalStateException("no line '" + tag + " ...' in the output:\n" + output);
    }

    static String joined(List<Long> values) {
        StringBuilder line = new StringBuilder(values.size() * 8);
        for (long value : values) {
            line.append(' ').append(value);
        }
        return line.toString();
    }
}
