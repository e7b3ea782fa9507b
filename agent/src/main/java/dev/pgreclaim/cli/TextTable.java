package dev.pgreclaim.cli;

import java.util.ArrayList;
import java.util.List;

/** A table in psql's aligned format: centred headers, numbers right-aligned, text left-aligned, a row count. */
final class TextTable {
    private final String[] headers;
    private final boolean[] numeric;
    private final List<String[]> rows = new ArrayList<String[]>();

    TextTable(String[] headers, boolean[] numeric) {
        if (headers.length != numeric.length) {
            throw new IllegalArgumentException("one alignment per column");
        }
        this.headers = headers.clone();
        this.numeric = numeric.clone();
    }

    void add(String... cells) {
        if (cells.length != headers.length) {
            throw new IllegalArgumentException("expected " + headers.length + " cells, got " + cells.length);
        }
        String[] row = new String[cells.length];
        for (int i = 0; i < cells.length; i++) {
            row[i] = cells[i] == null ? "" : printable(cells[i]);
        }
        rows.add(row);
    }

    /** Control characters (a newline in application_name) would break the layout; psql shows them escaped too. */
    private static String printable(String text) {
        StringBuilder out = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            out.append(Character.isISOControl(c) ? '?' : c);
        }
        return out.toString();
    }

    String render() {
        StringBuilder out = new StringBuilder();
        for (String line : lines()) {
            out.append(line).append('\n');
        }
        return out.toString();
    }

    /** Header, rule, one line per row (row i is line i + 2), row count. */
    List<String> lines() {
        int[] widths = new int[headers.length];
        for (int i = 0; i < headers.length; i++) {
            widths[i] = headers[i].length();
            for (String[] row : rows) {
                widths[i] = Math.max(widths[i], row[i].length());
            }
        }
        List<String> out = new ArrayList<String>();
        StringBuilder line = new StringBuilder();
        for (int i = 0; i < headers.length; i++) {
            int spare = widths[i] - headers[i].length();
            line.append(i == 0 ? " " : " | ").append(spaces(spare / 2)).append(headers[i])
                    .append(spaces(spare - spare / 2));
        }
        out.add(trimEnd(line));
        line.setLength(0);
        for (int i = 0; i < headers.length; i++) {
            line.append(i == 0 ? "" : "+").append(repeat('-', widths[i] + 2));
        }
        out.add(line.toString());
        for (String[] row : rows) {
            line.setLength(0);
            for (int i = 0; i < row.length; i++) {
                line.append(i == 0 ? " " : " | ");
                String pad = spaces(widths[i] - row[i].length());
                line.append(numeric[i] ? pad + row[i] : row[i] + pad);
            }
            out.add(trimEnd(line));
        }
        out.add("(" + rows.size() + (rows.size() == 1 ? " row)" : " rows)"));
        return out;
    }

    private static String trimEnd(StringBuilder line) {
        int end = line.length();
        while (end > 0 && line.charAt(end - 1) == ' ') {
            end--;
        }
        return line.substring(0, end);
    }

    private static String spaces(int n) {
        return repeat(' ', n);
    }

    private static String repeat(char c, int n) {
        StringBuilder out = new StringBuilder(Math.max(0, n));
        for (int i = 0; i < n; i++) {
            out.append(c);
        }
        return out.toString();
    }
}
