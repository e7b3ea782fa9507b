package dev.pgreclaim.policy;

/** Durations as users write them: a whole number and a unit, {@code ms}, {@code s}, {@code m} or {@code h}. */
public final class Durations {
    private Durations() {
    }

    /** Milliseconds, or -1 when the text is not a duration (including overflow). */
    public static long parseMillis(String text) {
        if (text == null) {
            return -1;
        }
        String value = text.trim();
        int unitStart = 0;
        while (unitStart < value.length() && value.charAt(unitStart) >= '0' && value.charAt(unitStart) <= '9') {
            unitStart++;
        }
        if (unitStart == 0 || unitStart > 12) {
            return -1;
        }
        long amount = Long.parseLong(value.substring(0, unitStart));
        String unit = value.substring(unitStart);
        long factor;
        if (unit.equals("ms")) {
            factor = 1;
        } else if (unit.equals("s")) {
            factor = 1000;
        } else if (unit.equals("m")) {
            factor = 60_000;
        } else if (unit.equals("h")) {
            factor = 3_600_000;
        } else {
            return -1;
        }
        if (amount > Long.MAX_VALUE / factor) {
            return -1;
        }
        return amount * factor;
    }

    /** The shortest exact form: {@code 1500ms}, {@code 10s}, {@code 2m}, {@code 1h}. */
    public static String format(long millis) {
        if (millis != 0 && millis % 3_600_000 == 0) {
            return millis / 3_600_000 + "h";
        }
        if (millis != 0 && millis % 60_000 == 0) {
            return millis / 60_000 + "m";
        }
        if (millis != 0 && millis % 1000 == 0) {
            return millis / 1000 + "s";
        }
        return millis + "ms";
    }

    /** A human reading such as {@code 12.3s} or {@code 850ms}, for audit lines. */
    public static String human(long millis) {
        if (millis < 1000) {
            return millis + "ms";
        }
        if (millis < 60_000) {
            return (millis / 100) / 10.0 + "s";
        }
        if (millis < 3_600_000) {
            return (millis / 6000) / 10.0 + "m";
        }
        return (millis / 360_000) / 10.0 + "h";
    }
}
