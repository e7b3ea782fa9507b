package dev.pgreclaim.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where values come from, and what the defaults are. Bad values are covered by the safety tests. */
class PolicyPrecedenceTest {

  static Properties props(String... keyValues) {
    Properties properties = new Properties();
    for (int i = 0; i < keyValues.length; i += 2) {
      properties.setProperty(keyValues[i], keyValues[i + 1]);
    }
    return properties;
  }

  @Test
  void defaultsAreConservative() throws Exception {
    Policy policy = PolicyParser.parse(null, props(), Map.of());
    assertThat(policy.mode()).isEqualTo(Mode.OBSERVE);
    assertThat(policy.actOn()).containsExactly(LimitKind.ROLE);
    assertThat(policy.victimRules().minIdleMillis()).isEqualTo(10_000);
    assertThat(policy.maxAttempts()).isEqualTo(3);
    assertThat(policy.deadlineMillis()).isEqualTo(2_000);
    assertThat(policy.budgetTerminations()).isEqualTo(10);
    assertThat(policy.budgetWindowMillis()).isEqualTo(60_000);
    assertThat(policy.adminKeepAliveMillis()).isEqualTo(30_000);
    assertThat(policy.adminUser()).isNull();
    assertThat(policy.actsOn(LimitKind.ROLE)).isFalse();
  }

  @Test
  void agentArgumentsWinOverSystemPropertiesWhichWinOverEnvironment() throws Exception {
    Policy policy = PolicyParser.parse("min-idle=1s;pgreclaim.max-attempts=5",
        props("pgreclaim.min-idle", "2s", "pgreclaim.deadline", "3s", "pgreclaim.max-attempts", "4"),
        Map.of("PGRECLAIM_MIN_IDLE", "4s", "PGRECLAIM_DEADLINE", "5s", "PGRECLAIM_BUDGET", "2/10s"));
    assertThat(policy.victimRules().minIdleMillis()).isEqualTo(1_000);
    assertThat(policy.maxAttempts()).isEqualTo(5);
    assertThat(policy.deadlineMillis()).isEqualTo(3_000);
    assertThat(policy.budgetTerminations()).isEqualTo(2);
    assertThat(policy.budgetWindowMillis()).isEqualTo(10_000);
  }

  @Test
  void newlineSeparatedAgentArgumentsAsTheAttachCommandSendsThem() throws Exception {
    Policy policy = PolicyParser.parse("mode=terminate\nadmin.user=ops\nact-on=role,database", props(), Map.of());
    assertThat(policy.mode()).isEqualTo(Mode.TERMINATE);
    assertThat(policy.adminUser()).isEqualTo("ops");
    assertThat(policy.actOn()).isEqualTo(EnumSet.of(LimitKind.ROLE, LimitKind.DATABASE));
    assertThat(policy.actsOn(LimitKind.DATABASE)).isTrue();
    assertThat(policy.actsOn(LimitKind.SERVER)).isFalse();
  }

  @Test
  void passwordFromFileWinsAndTheEffectivePolicyNeverShowsIt(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("pw");
    Files.writeString(file, "s3cret-from-file\n");
    Policy policy = PolicyParser.parse(null,
        props("pgreclaim.mode", "terminate", "pgreclaim.admin.user", "ops",
            "pgreclaim.admin.password-file", file.toString()),
        Map.of("PGRECLAIM_ADMIN_PASSWORD", "s3cret-from-env"));
    assertThat(policy.adminPassword()).isEqualTo("s3cret-from-file");
    assertThat(policy.toString()).doesNotContain("s3cret").contains("admin.password=****** (from file ");
  }

  @Test
  void passwordAsPropertyWorksWithAWarning() throws Exception {
    Policy policy = PolicyParser.parse(null,
        props("pgreclaim.mode", "terminate", "pgreclaim.admin.user", "ops", "pgreclaim.admin.password", "pw-prop"),
        Map.of("PGRECLAIM_ADMIN_PASSWORD", "pw-env"));
    assertThat(policy.adminPassword()).isEqualTo("pw-prop");
    assertThat(policy.warnings()).anyMatch(w -> w.contains("visible to anyone who can run ps"));
    assertThat(policy.toString()).doesNotContain("pw-prop");
  }

  @Test
  void passwordFromEnvironmentAndNoneMeansPgpass() throws Exception {
    Policy fromEnv = PolicyParser.parse(null, props("pgreclaim.admin.user", "ops"),
        Map.of("PGRECLAIM_ADMIN_PASSWORD", "pw-env"));
    assertThat(fromEnv.adminPassword()).isEqualTo("pw-env");
    Policy none = PolicyParser.parse(null, props("pgreclaim.admin.user", "ops"), Map.of());
    assertThat(none.adminPassword()).isNull();
    assertThat(none.toString()).contains("admin.password=(none: .pgpass)");
  }

  @Test
  void terminateWithoutAdminRoleIsAnErrorNamingTheProperty() {
    assertThatThrownBy(() -> PolicyParser.parse(null, props("pgreclaim.mode", "terminate"), Map.of()))
        .isInstanceOf(InvalidPolicyException.class)
        .hasMessageContaining("pgreclaim.admin.user is required when pgreclaim.mode=terminate");
  }

  @Test
  void unknownSystemPropertiesAreWarnedAboutNotFatal() throws Exception {
    Policy policy = PolicyParser.parse(null, props("pgreclaim.min_idle", "1s"), Map.of());
    assertThat(policy.warnings()).anyMatch(w -> w.contains("unknown property pgreclaim.min_idle"));
  }

  @Test
  void protectListsAreTrimmedAndApplyToRoles() throws Exception {
    Policy policy = PolicyParser.parse(null,
        props("pgreclaim.protect.application-names", " batch-* , migrations ,",
            "pgreclaim.protect.users", "replicator,etl_*"), Map.of());
    assertThat(policy.victimRules().protectedApplications()).containsExactly("batch-*", "migrations");
    assertThat(policy.victimRules().protectsUser("etl_nightly")).isTrue();
    assertThat(policy.victimRules().protectsUser("app")).isFalse();
  }

  @Test
  void everySettingHasAnEnvironmentTwinAndAShortKey() {
    assertThat(Setting.MIN_IDLE.envKey()).isEqualTo("PGRECLAIM_MIN_IDLE");
    assertThat(Setting.ADMIN_PASSWORD_FILE.envKey()).isEqualTo("PGRECLAIM_ADMIN_PASSWORD_FILE");
    assertThat(Setting.byKey("min-idle")).isEqualTo(Setting.MIN_IDLE);
    assertThat(Setting.byKey("pgreclaim.min-idle")).isEqualTo(Setting.MIN_IDLE);
    assertThat(Setting.byKey("nope")).isNull();
  }
}
