package dev.pgreclaim.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The README's property table is the user's contract: it must match the declaration in {@link Setting}. */
class ReadmePropertyTableTest {

  @Test
  void readmeTableMatchesTheDeclaredSettings() throws Exception {
    Path readme = Path.of("..", "README.md");
    Map<String, String[]> rows = new LinkedHashMap<>();
    boolean inConfiguration = false;
    for (String line : Files.readAllLines(readme)) {
      if (line.startsWith("## ")) {
        inConfiguration = line.equals("## Configuration");
      }
      if (inConfiguration && line.startsWith("| `pgreclaim.")) {
        assertThat(rows).as("duplicate row " + line).doesNotContainKey(strip(line.split("\\|", -1)[1]));
        String[] cells = line.split("\\|", -1);
        String key = strip(cells[1]);
        rows.put(key, new String[] {strip(cells[2]), strip(cells[3]), cells[4].trim()});
      }
    }
    Map<String, String[]> declared = new LinkedHashMap<>();
    for (Setting setting : Setting.values()) {
      declared.put(setting.key(), new String[] {setting.envKey(),
          setting.defaultValue().isEmpty() ? "(empty)" : setting.defaultValue(), setting.description()});
    }
    assertThat(rows.keySet()).containsExactlyElementsOf(declared.keySet());
    for (Map.Entry<String, String[]> row : rows.entrySet()) {
      assertThat(row.getValue()).as(row.getKey()).containsExactly(declared.get(row.getKey()));
    }
  }

  private static String strip(String cell) {
    String trimmed = cell.trim();
    return trimmed.startsWith("`") && trimmed.endsWith("`") ? trimmed.substring(1, trimmed.length() - 1) : trimmed;
  }
}
