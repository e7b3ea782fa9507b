package dev.pgreclaim.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Bad input: every property with wrong values is refused with a message naming the property and the value, never
 * replaced by a default. (The agent then stays inert: {@code SafetyIT} shows that end to end.)
 */
class PolicyBadInputTest {
  private static final String SECRET = "s3cr3t-Adm1n-pw";

  static Stream<Arguments> badValues() {
    return Stream.of(
        Arguments.of("pgreclaim.mode", "kill"),
        Arguments.of("pgreclaim.mode", ""),
        Arguments.of("pgreclaim.act-on", "role,everything"),
        Arguments.of("pgreclaim.act-on", ""),
        Arguments.of("pgreclaim.act-on", "unknown"),
        Arguments.of("pgreclaim.admin.keep-alive", "forever"),
        Arguments.of("pgreclaim.admin.keep-alive", "-1s"),
        Arguments.of("pgreclaim.admin.keep-alive", "25h"),
        Arguments.of("pgreclaim.admin.keep-alive", ""),
        Arguments.of("pgreclaim.min-idle", "ten seconds"),
        Arguments.of("pgreclaim.min-idle", "-10s"),
        Arguments.of("pgreclaim.min-idle", "10"),
        Arguments.of("pgreclaim.min-idle", "1.5s"),
        Arguments.of("pgreclaim.min-idle", "99999999999999999999ms"),
        Arguments.of("pgreclaim.min-idle", "999999999999h"),
        Arguments.of("pgreclaim.min-idle", "\u0663s"),
        Arguments.of("pgreclaim.min-idle", ""),
        Arguments.of("pgreclaim.max-attempts", "three"),
        Arguments.of("pgreclaim.max-attempts", "0"),
        Arguments.of("pgreclaim.max-attempts", "-1"),
        Arguments.of("pgreclaim.max-attempts", "101"),
        Arguments.of("pgreclaim.max-attempts", "99999999999"),
        Arguments.of("pgreclaim.max-attempts", "+3"),
        Arguments.of("pgreclaim.max-attempts", "\u0663"),
        Arguments.of("pgreclaim.max-attempts", ""),
        Arguments.of("pgreclaim.deadline", "0ms"),
        Arguments.of("pgreclaim.deadline", "-2s"),
        Arguments.of("pgreclaim.deadline", "11m"),
        Arguments.of("pgreclaim.deadline", "999999999999h"),
        Arguments.of("pgreclaim.deadline", "2 s"),
        Arguments.of("pgreclaim.deadline", ""),
        Arguments.of("pgreclaim.budget", "10"),
        Arguments.of("pgreclaim.budget", "0/1m"),
        Arguments.of("pgreclaim.budget", "-1/1m"),
        Arguments.of("pgreclaim.budget", "10/0ms"),
        Arguments.of("pgreclaim.budget", "10/soon"),
        Arguments.of("pgreclaim.budget", "99999999999/1m"),
        Arguments.of("pgreclaim.budget", "/1m"),
        Arguments.of("pgreclaim.budget", "99999999999999999999999/1m"),
        Arguments.of("pgreclaim.budget", "+5/1m"),
        Arguments.of("pgreclaim.budget", "\u0661\u0660/1m"),
        Arguments.of("pgreclaim.budget", "10/25h"),
        Arguments.of("pgreclaim.budget", "10/999999999999h"),
        Arguments.of("pgreclaim.budget", "10/1s"), // shorter than the default deadline, 2s
        Arguments.of("pgreclaim.budget", ""),
        Arguments.of("pgreclaim.protect.application-names", "ok,bad\u0007bell"),
        Arguments.of("pgreclaim.protect.application-names", "batch,caf\u00e9-*"),
        Arguments.of("pgreclaim.protect.application-names", "x".repeat(64)),
        Arguments.of("pgreclaim.protect.application-names", "*" + "y".repeat(60) + "????*"),
        Arguments.of("pgreclaim.protect.users", "x\u0000y"),
        Arguments.of("pgreclaim.protect.databases", "a\u001bb"),
        Arguments.of("pgreclaim.self-check", "yes"),
        Arguments.of("pgreclaim.self-check", ""),
        Arguments.of("pgreclaim.jmx", "1"));
  }

  @ParameterizedTest(name = "{0}=''{1}''")
  @MethodSource("badValues")
  void aBadValueIsRefusedNamingPropertyAndValue(String key, String value) {
    InvalidPolicyException invalid = assertThrows(InvalidPolicyException.class,
        () -> parse(terminatingWith(key, value)));
    assertThat(invalid.getMessage()).contains(key + "='" + value.trim() + "'");
    assertThat(invalid.problems()).hasSize(1);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badValues")
  void theSameBadValuesAreRefusedFromTheEnvironmentAndAgentArguments(String key, String value) {
    String envKey = Setting.byKey(key).envKey();
    Properties system = new Properties();
    system.setProperty("pgreclaim.admin.user", "pgreclaim_admin");
    if (!key.equals("pgreclaim.mode")) {
      system.setProperty("pgreclaim.mode", "terminate");
    }
    assertThrows(InvalidPolicyException.class, () -> PolicyParser.parse(null, system, Map.of(envKey, value)));
    if (!value.contains(";") && !value.contains("\n") && !value.isEmpty()) {
      assertThrows(InvalidPolicyException.class,
          () -> PolicyParser.parse(key.substring("pgreclaim.".length()) + "=" + value, system, Map.of()));
    }
  }

  @Test
  void terminateWithoutAnAdminRoleIsRefused() {
    InvalidPolicyException invalid = assertThrows(InvalidPolicyException.class,
        () -> parse(Map.of("pgreclaim.mode", "terminate")));
    assertThat(invalid.getMessage()).contains("pgreclaim.admin.user is required");
  }

  @Test
  void manyBadValuesAreAllReportedAtOnce() {
    InvalidPolicyException invalid = assertThrows(InvalidPolicyException.class, () -> parse(Map.of(
        "pgreclaim.mode", "terminate", "pgreclaim.admin.user", "a", "pgreclaim.min-idle", "x",
        "pgreclaim.deadline", "y", "pgreclaim.budget", "z")));
    assertThat(invalid.problems()).hasSize(3);
  }

  @Test
  void unknownAgentArgumentsAndNonPairsAreRefused() {
    assertThrows(InvalidPolicyException.class, () -> PolicyParser.parse("min-idel=10s", new Properties(), Map.of()));
    InvalidPolicyException notPair = assertThrows(InvalidPolicyException.class,
        () -> PolicyParser.parse("admin.password" + SECRET, new Properties(), Map.of()));
    assertThat(notPair.getMessage()).doesNotContain(SECRET);
  }

  @Test
  void passwordFileWithATrailingNewlineWorksWithoutTheNewline(@TempDir Path dir) throws Exception {
    for (String ending : new String[] {"\n", "\r\n", ""}) {
      Path file = dir.resolve("pw" + ending.length());
      Files.writeString(file, SECRET + ending, StandardCharsets.UTF_8);
      Policy policy = parse(Map.of("pgreclaim.mode", "terminate", "pgreclaim.admin.user", "a",
          "pgreclaim.admin.password-file", file.toString()));
      assertThat(policy.adminPassword()).isEqualTo(SECRET);
      assertThat(policy.toString()).doesNotContain(SECRET).contains("admin.password=******");
    }
  }

  @Test
  void unusablePasswordFilesAreRefusedNamingTheFile(@TempDir Path dir) throws Exception {
    Path missing = dir.resolve("missing");
    Path empty = Files.writeString(dir.resolve("empty"), "\n");
    Path twoLines = Files.writeString(dir.resolve("two-lines"), SECRET + "\nsecond\n");
    Path directory = Files.createDirectory(dir.resolve("a-directory"));
    Path unreadable = Files.writeString(dir.resolve("unreadable"), SECRET);
    unreadable.toFile().setReadable(false, false);
    boolean canStillRead = Files.isReadable(unreadable); // true as root: permissions do not stop root
    for (Path file : canStillRead ? new Path[] {missing, empty, twoLines, directory}
        : new Path[] {missing, empty, twoLines, directory, unreadable}) {
      InvalidPolicyException invalid = assertThrows(InvalidPolicyException.class, () -> parse(Map.of(
          "pgreclaim.mode", "terminate", "pgreclaim.admin.user", "a",
          "pgreclaim.admin.password-file", file.toString())));
      assertThat(invalid.getMessage()).contains("pgreclaim.admin.password-file='" + file + "'")
          .doesNotContain(SECRET);
    }
  }

  @Test
  void anAdminUrlCarryingSecretsIsRefusedWithoutRepeatingThem() {
    for (String url : new String[] {
        "jdbc:postgresql://db/app?password=" + SECRET,
        "jdbc:postgresql://db/app?user=admin&password=" + SECRET,
        "jdbc:postgresql://db/app?sslmode=require&sslpassword=" + SECRET,
        "postgresql://admin:" + SECRET + "@db/app"}) {
      InvalidPolicyException invalid = assertThrows(InvalidPolicyException.class,
          () -> parse(Map.of("pgreclaim.admin.url", url)));
      assertThat(invalid.getMessage()).contains("pgreclaim.admin.url").doesNotContain(SECRET);
    }
  }

  @Test
  void aPasswordPropertyIsAcceptedWithAWarningThatDoesNotRepeatIt() throws Exception {
    Policy policy = parse(Map.of("pgreclaim.mode", "terminate", "pgreclaim.admin.user", "a",
        "pgreclaim.admin.password", SECRET));
    assertThat(policy.adminPassword()).isEqualTo(SECRET);
    assertThat(policy.toString()).doesNotContain(SECRET);
    assertThat(String.join(" ", policy.warnings())).contains("visible to anyone").doesNotContain(SECRET);
  }

  @Test
  void aBudgetWindowShorterThanTheDeadlineIsRefusedNamingBoth() throws Exception {
    InvalidPolicyException invalid = assertThrows(InvalidPolicyException.class, () -> parse(Map.of(
        "pgreclaim.deadline", "5s", "pgreclaim.budget", "10/3s")));
    assertThat(invalid.getMessage()).contains("pgreclaim.budget='10/3s' is invalid")
        .contains("shorter than pgreclaim.deadline (5s)");
    assertThat(invalid.problems()).hasSize(1);

    Policy equal = parse(Map.of("pgreclaim.deadline", "5s", "pgreclaim.budget", "10/5s"));
    assertThat(equal.budgetWindowMillis()).isEqualTo(5000);
    assertThat(equal.budgetTerminations()).isEqualTo(10);
    Policy longest = parse(Map.of("pgreclaim.budget", "100000/24h"));
    assertThat(longest.budgetWindowMillis()).isEqualTo(24 * 3_600_000L);
    // an invalid deadline is reported once, not again through the budget
    InvalidPolicyException badDeadline = assertThrows(InvalidPolicyException.class, () -> parse(Map.of(
        "pgreclaim.deadline", "soon", "pgreclaim.budget", "10/1s")));
    assertThat(badDeadline.problems()).hasSize(1);
    assertThat(badDeadline.getMessage()).contains("pgreclaim.deadline='soon'");
  }

  @Test
  void applicationNamePatternsThatMatchTheShownFormAreAccepted() throws Exception {
    String shown = "a".repeat(63);
    Policy policy = parse(Map.of("pgreclaim.protect.application-names",
        shown + "," + shown + "*,caf??-*,caf\\xc3\\xa9*,*" + "b".repeat(62) + "*"));
    assertThat(policy.victimRules().protectedApplications()).hasSize(5);
    InvalidPolicyException invalid = assertThrows(InvalidPolicyException.class,
        () -> parse(Map.of("pgreclaim.protect.application-names", "ok," + "a".repeat(64))));
    assertThat(invalid.getMessage()).contains("can never match").contains("first 63 bytes");
    InvalidPolicyException nonAscii = assertThrows(InvalidPolicyException.class,
        () -> parse(Map.of("pgreclaim.protect.application-names", "caf\u00e9")));
    assertThat(nonAscii.getMessage()).contains("can never match").contains("ASCII only");
  }

  /** terminate mode with an admin role (so the bad value is the only problem), then {@code key=value}. */
  private static Map<String, String> terminatingWith(String key, String value) {
    Map<String, String> properties = new java.util.HashMap<>();
    properties.put("pgreclaim.mode", "terminate");
    properties.put("pgreclaim.admin.user", "pgreclaim_admin");
    properties.put(key, value);
    return properties;
  }

  private static Policy parse(Map<String, String> properties) throws InvalidPolicyException {
    Properties system = new Properties();
    system.putAll(properties);
    return PolicyParser.parse(null, system, Map.of());
  }
}
