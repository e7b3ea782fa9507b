package dev.pgreclaim.demo;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Types;
import java.util.ArrayList;
import java.util.List;

/**
 * A snapshot of one role's sessions in {@code pg_stat_activity}, with the columns the seed article looked at, printed
 * the way psql prints a query result (aligned format: centred headers, numbers right-aligned, a row count).
 */
final class ActivityTable {
    /** What the article's reader would type into psql, plus how long each idle session has been idle. */
    static final String QUERY = """
            select usename, datname, backend_type, pid, state, client_addr, client_port,
                   case when state like 'idle%' then to_char(now() - state_change, 'HH24:MI:SS.MS') end as idle
              from pg_stat_activity where usename = ? order by backend_start""";

    private final List<String> columns;
    private final boolean[] numeric;
    private final List<String[]> rows;

    private ActivityTable(List<String> columns, boolean[] numeric, List<String[]> rows) {
        this.columns = columns;
        this.numeric = numeric;
        this.rows = rows;
    }

    /** Reads the view in autocommit (a fresh snapshot of the statistics each time). */
    static ActivityTable read(Connection connection, String role) throws SQLException {
        try (PreparedStatement statement = connection.prepareStatement(QUERY)) {
            statement.setString(1, role);
            try (ResultSet result = statement.executeQuery()) {
                ResultSetMetaData meta = result.getMetaData();
                int count = meta.getColumnCount();
                List<String> columns = new ArrayList<>();
                boolean[] numeric = new boolean[count];
                for (int i = 1; i <= count; i++) {
                    columns.add(meta.getColumnLabel(i));
                    numeric[i - 1] = isNumeric(meta.getColumnType(i));
                }
                List<String[]> rows = new ArrayList<>();
                while (result.next()) {
                    String[] row = new String[count];
                    for (int i = 1; i <= count; i++) {
                        String value = result.getString(i);
                        row[i - 1] = value == null ? "" : value;
                    }
                    rows.add(row);
                }
                return new ActivityTable(columns, numeric, rows);
            }
        }
    }

    private static boolean isNumeric(int sqlType) {
        switch (sqlType) {
            case Types.INTEGER:
            case Types.BIGINT:
            case Types.SMALLINT:
            case Types.NUMERIC:
            case Types.DECIMAL:
            case Types.DOUBLE:
            case Types.REAL:
                return true;
            default:
                return false;
        }
    }

    /** The {@code state} of the session with this backend pid, or null when it is not in the view. */
    String stateOf(int pid) {
        int pidColumn = columns.indexOf("pid");
        int stateColumn = columns.indexOf("state");
        for (String[] row : rows) {
            if (row[pidColumn].equals(Integer.toString(pid))) {
                return row[stateColumn];
            }
        }
        return null;
    }

    int rowCount() {
        return rows.size();
    }

    /** psql's aligned format (trailing blanks trimmed). */
    String render() {
        int[] width = new int[columns.size()];
        for (int c = 0; c < width.length; c++) {
            width[c] = columns.get(c).length();
            for (String[] row : rows) {
                width[c] = Math.max(width[c], row[c].length());
            }
        }
        StringBuilder text = new StringBuilder();
        StringBuilder line = new StringBuilder();
        for (int c = 0; c < width.length; c++) {
            String name = columns.get(c);
            int left = (width[c] - name.length()) / 2;
            line.append(c == 0 ? " " : " | ").append(" ".repeat(left)).append(name)
                    .append(" ".repeat(width[c] - name.length() - left));
        }
        text.append(line.toString().stripTrailing()).append('\n');
        line.setLength(0);
        for (int c = 0; c < width.length; c++) {
            line.append(c == 0 ? "" : "+").append("-".repeat(width[c] + 2));
        }
        text.append(line).append('\n');
        for (String[] row : rows) {
            line.setLength(0);
            for (int c = 0; c < width.length; c++) {
                String pad = " ".repeat(width[c] - row[c].length());
                line.append(c == 0 ? " " : " | ").append(numeric[c] ? pad + row[c] : row[c] + pad);
            }
            text.append(line.toString().stripTrailing()).append('\n');
        }
        text.append(rows.size() == 1 ? "(1 row)" : "(" + rows.size() + " rows)");
        return text.toString();
    }
}
