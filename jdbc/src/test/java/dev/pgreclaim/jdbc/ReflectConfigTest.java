package dev.pgreclaim.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The GraalVM reachability metadata the jar ships ({@code META-INF/native-image/.../reflect-config.json}) against the
 * code: every class and method it lists exists (pgjdbc and SLF4J's API are on the test class path), and every name
 * the core's and the wrapper's sources reach by reflection is listed, so the file cannot go stale silently.
 */
class ReflectConfigTest {
  static final String RESOURCE = "META-INF/native-image/dev.pgreclaim/pg-reclaim-jdbc/reflect-config.json";

  /** Class names written in reflective sources that are compared with a loaded class's name, never loaded. */
  static final Set<String> NAMES_ONLY_COMPARED = Set.of(
      "org.slf4j.helpers.SubstituteLoggerFactory", "org.slf4j.helpers.NOPLoggerFactory");

  private static final Pattern CLASS_LITERAL = Pattern.compile("\"((?:[a-z][a-z0-9_]*\\.)+[A-Z][A-Za-z0-9_$]*)\"");
  /** Method names: the argument of getMethod/getDeclaredMethod, or a getter name passed on to one. */
  private static final Pattern METHOD_LITERAL =
      Pattern.compile("get(?:Declared)?Method\\(\"(\\w+)\"|\"(get[A-Z]\\w*)\"");
  private static final Pattern REFLECTIVE_CALL =
      Pattern.compile("Class\\.forName\\(|\\.getMethod\\(|getDeclaredMethod\\(|\\.getField\\(|getDeclaredField\\(");

  @Test
  void everyListedClassAndMethodExists() throws Exception {
    List<Map<String, Object>> entries = entries();
    assertThat(entries).isNotEmpty();
    for (Map<String, Object> entry : entries) {
      String name = (String) entry.get("name");
      Class<?> type = assertDoesNotThrow(() -> Class.forName(name, false, getClass().getClassLoader()), name);
      @SuppressWarnings("unchecked")
      List<Map<String, Object>> methods = (List<Map<String, Object>>) entry.getOrDefault("methods", List.of());
      for (Map<String, Object> method : methods) {
        String methodName = (String) method.get("name");
        @SuppressWarnings("unchecked")
        List<String> parameterNames = (List<String>) method.get("parameterTypes");
        Class<?>[] parameters = new Class<?>[parameterNames.size()];
        for (int i = 0; i < parameters.length; i++) {
          parameters[i] = Class.forName(parameterNames.get(i));
        }
        if (methodName.equals("<init>")) {
          assertDoesNotThrow(() -> type.getConstructor(parameters), name + ".<init>");
        } else {
          assertDoesNotThrow(() -> type.getMethod(methodName, parameters), name + "." + methodName);
        }
      }
    }
  }

  @Test
  void everyNameTheSourcesReachByReflectionIsListed() throws Exception {
    Set<String> listedClasses = new LinkedHashSet<>();
    Set<String> listedMethods = new LinkedHashSet<>();
    for (Map<String, Object> entry : entries()) {
      listedClasses.add((String) entry.get("name"));
      @SuppressWarnings("unchecked")
      List<Map<String, Object>> methods = (List<Map<String, Object>>) entry.getOrDefault("methods", List.of());
      methods.forEach(method -> listedMethods.add((String) method.get("name")));
    }
    Path moduleDir = Path.of(System.getProperty("basedir", "."));
    List<Path> reflective = new ArrayList<>();
    for (Path sources : List.of(moduleDir.resolve("../core/src/main/java"), moduleDir.resolve("src/main/java"))) {
      assertThat(sources).isDirectory();
      try (Stream<Path> files = Files.walk(sources)) {
        for (Path file : (Iterable<Path>) files.filter(p -> p.toString().endsWith(".java"))::iterator) {
          if (REFLECTIVE_CALL.matcher(Files.readString(file)).find()) {
            reflective.add(file);
          }
        }
      }
    }
    // the sources this file was written from: if one of them stops being found, the scan itself went wrong
    assertThat(reflective).extracting(p -> p.getFileName().toString())
        .contains("ReclaimLog.java", "ConnectTarget.java", "Refusal.java", "OwnSessions.java", "SelfCheck.java",
            "PgjdbcDriver.java", "PgReclaimDataSource.java");
    Set<String> missing = new LinkedHashSet<>();
    for (Path file : reflective) {
      String text = Files.readString(file);
      Matcher classes = CLASS_LITERAL.matcher(text);
      while (classes.find()) {
        String name = classes.group(1);
        if (!listedClasses.contains(name) && !NAMES_ONLY_COMPARED.contains(name)) {
          missing.add(file.getFileName() + ": class " + name);
        }
      }
      Matcher methods = METHOD_LITERAL.matcher(text);
      while (methods.find()) {
        String name = methods.group(1) != null ? methods.group(1) : methods.group(2);
        if (!listedMethods.contains(name)) {
          missing.add(file.getFileName() + ": method " + name);
        }
      }
    }
    assertThat(missing).as("reached by reflection but not in " + RESOURCE).isEmpty();
  }

  static List<Map<String, Object>> entries() throws IOException {
    try (InputStream in = ReflectConfigTest.class.getClassLoader().getResourceAsStream(RESOURCE)) {
      assertThat(in).as(RESOURCE).isNotNull();
      Object parsed = new Json(new String(in.readAllBytes(), StandardCharsets.UTF_8)).value();
      @SuppressWarnings("unchecked")
      List<Map<String, Object>> entries = (List<Map<String, Object>>) parsed;
      return entries;
    }
  }

  /** Just enough JSON for the metadata file: objects, arrays, strings without escapes, true/false. */
  static final class Json {
    private final String text;
    private int at;

    Json(String text) {
      this.text = text;
    }

    Object value() {
      skipSpace();
      char c = text.charAt(at);
      if (c == '[') {
        List<Object> list = new ArrayList<>();
        at++;
        skipSpace();
        if (text.charAt(at) == ']') {
          at++;
          return list;
        }
        while (true) {
          list.add(value());
          skipSpace();
          if (text.charAt(at++) == ']') {
            return list;
          }
        }
      }
      if (c == '{') {
        Map<String, Object> map = new LinkedHashMap<>();
        at++;
        skipSpace();
        if (text.charAt(at) == '}') {
          at++;
          return map;
        }
        while (true) {
          skipSpace();
          String key = (String) value();
          skipSpace();
          expect(':');
          map.put(key, value());
          skipSpace();
          if (text.charAt(at++) == '}') {
            return map;
          }
        }
      }
      if (c == '"') {
        int end = text.indexOf('"', at + 1);
        String string = text.substring(at + 1, end);
        if (string.indexOf('\\') >= 0) {
          throw new IllegalArgumentException("escapes are not expected in " + RESOURCE);
        }
        at = end + 1;
        return string;
      }
      if (text.startsWith("true", at)) {
        at += 4;
        return Boolean.TRUE;
      }
      if (text.startsWith("false", at)) {
        at += 5;
        return Boolean.FALSE;
      }
      throw new IllegalArgumentException("unexpected '" + c + "' at " + at + " of " + RESOURCE);
    }

    private void expect(char c) {
      if (text.charAt(at++) != c) {
        throw new IllegalArgumentException("expected '" + c + "' at " + (at - 1) + " of " + RESOURCE);
      }
    }

    private void skipSpace() {
      while (at < text.length() && Character.isWhitespace(text.charAt(at))) {
        at++;
      }
    }
  }
}
