package dev.pgreclaim.jdbc;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/** The real pgjdbc driver, recording every URL and property set it is handed (the wrapper's and the admin login's). */
final class RecordingDriver extends org.postgresql.Driver {
  record Run(String url, Map<Object, Object> info) {}

  final List<Run> runs = new ArrayList<>();

  @Override
  public Connection connect(String url, Properties info) throws SQLException {
    Map<Object, Object> entries = new HashMap<>();
    if (info != null) {
      for (String name : info.stringPropertyNames()) {
        entries.put(name, info.getProperty(name));
      }
      entries.putAll(info);
    }
    synchronized (runs) {
      runs.add(new Run(url, entries));
    }
    return super.connect(url, info);
  }

  List<Run> runs() {
    synchronized (runs) {
      return List.copyOf(runs);
    }
  }
}
