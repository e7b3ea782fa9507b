package dev.pgreclaim.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.pgreclaim.policy.AdminUrlCheck.Problem;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every URL form that carries a secret is refused by the one URL check, and the refusal repeats neither the secret
 * nor the URL; the forms pgjdbc really uses without a secret stay accepted. The forked-JVM and CLI side of the same
 * list is {@code it/UrlSecretsIT}.
 */
public class AdminUrlCheckTest {
  public static final String SECRET = "s3cr3t-Xy9";

  /** Each form carries {@link #SECRET}; shared with {@code it/UrlSecretsIT}. */
  public static List<String> secretForms() {
    return List.of(
        "jdbc:postgresql://admin:" + SECRET + "@127.0.0.1:5432/postgres",
        "jdbc:postgresql://127.0.0.1:5432,admin:" + SECRET + "@127.0.0.2:5433/postgres",
        "jdbc:postgresql://[::1]:5432,admin:" + SECRET + "@[::1]:5433/postgres",
        "jdbc:postgresql://admin:" + SECRET + "@/postgres",
        "jdbc:postgresql://admin:" + SECRET + "@db.example",
        "jdbc:postgresql://admin%3A" + SECRET + "%40db.example/postgres",
        "jdbc:postgresql:admin:" + SECRET + "@db/postgres",
        "jdbc:postgresql://db/postgres?password=" + SECRET,
        "jdbc:postgresql://db/postgres?sslmode=disable&PASSWORD=" + SECRET,
        "jdbc:postgresql://db/postgres?sslpassword=" + SECRET,
        "jdbc:postgresql://db/postgres?SslPassWord=" + SECRET + "&sslmode=require",
        "jdbc:postgresql://db/postgres?pass%77ord=" + SECRET,
        "jdbc:postgresql://db/postgres?%70assword=" + SECRET,
        "jdbc:postgresql://db/postgres?pass%2577ord=" + SECRET,
        "jdbc:postgresql://db/postgres?password%3D" + SECRET,
        "jdbc:postgresql://db/postgres? password =" + SECRET,
        "jdbc:postgresql://db/postgres?ssl=false;password=" + SECRET,
        "jdbc:postgresql://db/postgres;password=" + SECRET,
        "jdbc:postgresql://db/postgres&password=" + SECRET,
        "jdbc:postgresql://db/postgres#password=" + SECRET,
        "jdbc:postgresql:postgres?password=" + SECRET,
        "jdbc:postgresql://db/postgres?user=admin&password=" + SECRET,
        "JDBC:POSTGRESQL://admin:" + SECRET + "@db/postgres",
        "postgresql://admin:" + SECRET + "@db/postgres",
        "jdbc:mysql://db/app?password=" + SECRET);
  }

  @ParameterizedTest
  @MethodSource("secretForms")
  void aUrlCarryingASecretIsRefusedAsCarryingOne(String url) {
    assertThat(AdminUrlCheck.check(url)).isIn(Problem.USER_INFO, Problem.PASSWORD);
  }

  @ParameterizedTest
  @MethodSource("secretForms")
  void theConfigurationErrorNamesThePropertyButNeitherTheSecretNorTheUrl(String url) {
    for (Map<String, String> source : List.of(Map.of("pgreclaim.admin.url", url))) {
      Properties system = new Properties();
      system.putAll(source);
      InvalidPolicyException invalid = assertThrows(InvalidPolicyException.class,
          () -> PolicyParser.parse(null, system, Map.of()));
      assertThat(invalid.getMessage()).contains("pgreclaim.admin.url is invalid (value not shown)")
          .contains("pgreclaim.admin.password-file").doesNotContain(SECRET).doesNotContain("admin:")
          .doesNotContain("db/postgres").doesNotContain("127.0.0.1");
      assertThat(invalid.problems()).hasSize(1);
      InvalidPolicyException fromEnv = assertThrows(InvalidPolicyException.class,
          () -> PolicyParser.parse(null, new Properties(), Map.of("PGRECLAIM_ADMIN_URL", url)));
      assertThat(fromEnv.getMessage()).contains("pgreclaim.admin.url").doesNotContain(SECRET);
    }
  }

  @ParameterizedTest
  @MethodSource("secretForms")
  void anAgentArgumentCarryingTheUrlIsRefusedWithoutRepeatingIt(String url) {
    InvalidPolicyException asPair = assertThrows(InvalidPolicyException.class,
        () -> PolicyParser.parse("admin.url=" + url, new Properties(), Map.of()));
    // ';' separates agent arguments, so some forms arrive cut in two: refused either way, the secret not repeated
    assertThat(asPair.getMessage()).doesNotContain(SECRET);
    // pasted without a key, or with the URL where the key goes
    InvalidPolicyException bare = assertThrows(InvalidPolicyException.class,
        () -> PolicyParser.parse(url.replace('=', ':'), new Properties(), Map.of()));
    assertThat(bare.getMessage()).doesNotContain(SECRET);
    InvalidPolicyException asKey = assertThrows(InvalidPolicyException.class,
        () -> PolicyParser.parse(url + "=x", new Properties(), Map.of()));
    assertThat(asKey.getMessage()).doesNotContain(SECRET);
  }

  static Stream<String> usableUrls() {
    return Stream.of(
        "jdbc:postgresql://db.example:5432/postgres",
        "jdbc:postgresql://db.example/postgres",
        "jdbc:postgresql://h1:5432,h2:5433/postgres?targetServerType=primary",
        "jdbc:postgresql://[::1]:5432/postgres",
        "jdbc:postgresql://[fe80::1%25eth0]:5432/postgres",
        "jdbc:postgresql:postgres",
        "jdbc:postgresql://db/postgres?sslmode=verify-full&sslrootcert=/etc/ssl/ca.pem&pgpassfile=/etc/pgpass",
        "jdbc:postgresql://db/postgres?options=-c%20search_path%3Dpg_catalog",
        "jdbc:postgresql://db/postgres?ApplicationName=ops&connectTimeout=5");
  }

  @ParameterizedTest
  @MethodSource("usableUrls")
  void urlsWithoutSecretsStayUsableAndAreShownInThePolicyLine(String url) throws Exception {
    assertThat(AdminUrlCheck.check(url)).isNull();
    Properties system = new Properties();
    system.setProperty("pgreclaim.admin.url", url);
    Policy policy = PolicyParser.parse(null, system, Map.of());
    assertThat(policy.adminUrl()).isEqualTo(url);
    assertThat(policy.toString()).contains("admin.url=" + url.replaceFirst("[?].*", ""));
  }

  @Test
  void otherProblemsAreNamedWithoutTheValue() {
    assertThat(AdminUrlCheck.check("jdbc:postgresql://db/postgres?user=admin")).isEqualTo(Problem.USER_PARAMETER);
    assertThat(AdminUrlCheck.check("jdbc:postgresql://db:54x/postgres")).isEqualTo(Problem.BAD_PORT);
    assertThat(AdminUrlCheck.check("jdbc:postgresql://db:70000/postgres")).isEqualTo(Problem.BAD_PORT);
    assertThat(AdminUrlCheck.check("jdbc:postgresql://admin:pw/postgres")).isEqualTo(Problem.BAD_PORT);
    assertThat(AdminUrlCheck.check("jdbc:postgresql://db/postgres\nx")).isEqualTo(Problem.CONTROL_CHARACTER);
    assertThat(AdminUrlCheck.check("jdbc:mysql://db/app")).isEqualTo(Problem.NOT_POSTGRESQL);
    assertThat(AdminUrlCheck.check("jdbc:postgresql:")).isEqualTo(Problem.NOT_POSTGRESQL);
    Properties system = new Properties();
    system.setProperty("pgreclaim.admin.url", "jdbc:postgresql://admin:pw/postgres");
    InvalidPolicyException invalid = assertThrows(InvalidPolicyException.class,
        () -> PolicyParser.parse(null, system, Map.of()));
    assertThat(invalid.getMessage()).contains("pgreclaim.admin.url is invalid").contains("port")
        .doesNotContain("admin:pw");
  }
}
