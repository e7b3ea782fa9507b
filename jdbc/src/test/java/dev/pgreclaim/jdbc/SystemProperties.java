package dev.pgreclaim.jdbc;

import java.util.LinkedHashMap;
import java.util.Map;

/** System properties set for a block, restored (or cleared) on close. */
final class SystemProperties implements AutoCloseable {
  private final Map<String, String> previous = new LinkedHashMap<>();

  private SystemProperties() {}

  /** {@code set("k1", "v1", "k2", "v2", ...)}. */
  static SystemProperties set(String... keysAndValues) {
    SystemProperties properties = new SystemProperties();
    for (int i = 0; i < keysAndValues.length; i += 2) {
      properties.previous.put(keysAndValues[i], System.getProperty(keysAndValues[i]));
      System.setProperty(keysAndValues[i], keysAndValues[i + 1]);
    }
    return properties;
  }

  @Override
  public void close() {
    previous.forEach((key, value) -> {
      if (value == null) {
        System.clearProperty(key);
      } else {
        System.setProperty(key, value);
      }
    });
  }
}
