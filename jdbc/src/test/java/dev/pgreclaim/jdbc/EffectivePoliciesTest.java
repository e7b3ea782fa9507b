package dev.pgreclaim.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;

/** Where an open's policy comes from, and that opens under one policy share one handler (and so one reclaimer). */
class EffectivePoliciesTest {

  @Test
  void urlParametersWinOverConnectionPropertiesWhichWinOverSystemProperties() {
    try (SystemProperties ignored = SystemProperties.set("pgreclaim.min-idle", "3s", "pgreclaim.mode", "observe",
        "pgreclaim.max-attempts", "7")) {
      Properties info = new Properties();
      info.setProperty("pgreclaim.min-idle", "4s");
      info.setProperty("pgreclaim.deadline", "3s");

      EffectivePolicies.Entry all = EffectivePolicies.entryFor(Map.of("pgreclaim.min-idle", "5s"), List.of(), info,
          null);
      EffectivePolicies.Entry noUrl = EffectivePolicies.entryFor(Map.of(), List.of(), info, null);
      EffectivePolicies.Entry systemOnly = EffectivePolicies.entryFor(Map.of(), List.of(), null, null);

      assertThat(all.policy.victimRules().minIdleMillis()).isEqualTo(5000);
      assertThat(noUrl.policy.victimRules().minIdleMillis()).isEqualTo(4000);
      assertThat(systemOnly.policy.victimRules().minIdleMillis()).isEqualTo(3000);
      // what the higher sources leave unset still comes from below
      assertThat(all.policy.maxAttempts()).isEqualTo(7);
      assertThat(all.policy.deadlineMillis()).isEqualTo(3000);
      assertThat(systemOnly.policy.deadlineMillis()).isEqualTo(2000);
    }
  }

  @Test
  void opensUnderOnePolicyShareOneHandlerAndTheCacheIsBounded() {
    Map<String, String> settings = Map.of("pgreclaim.mode", "observe", "pgreclaim.min-idle", "41s");
    Properties info = new Properties();
    info.setProperty("user", "someone");
    assertThat(EffectivePolicies.handlerFor(settings, List.of(), info, null))
        .isNotNull()
        .isSameAs(EffectivePolicies.handlerFor(settings, List.of(), new Properties(), null));

    for (int i = 0; i < EffectivePolicies.MAX_POLICIES + 5; i++) {
      EffectivePolicies.handlerFor(Map.of("pgreclaim.mode", "observe", "pgreclaim.min-idle", (100 + i) + "s"),
          List.of(), null, null);
    }
    assertThat(EffectivePolicies.size()).isEqualTo(EffectivePolicies.MAX_POLICIES);
  }

  @Test
  void invalidOrOffGivesNoHandler() {
    assertThat(EffectivePolicies.handlerFor(Map.of("pgreclaim.mode", "kill"), List.of(), null, null)).isNull();
    assertThat(EffectivePolicies.handlerFor(Map.of("pgreclaim.mode", "off"), List.of(), null, null)).isNull();
    assertThat(EffectivePolicies.handlerFor(Map.of(), List.of("a problem of the URL"), null, null)).isNull();
    Properties typo = new Properties();
    typo.setProperty("pgreclaim.modes", "terminate");
    assertThat(EffectivePolicies.handlerFor(Map.of(), List.of(), typo, null)).isNull();
    assertThat(EffectivePolicies.handlerFor(Map.of("pgreclaim.mode", "observe"), List.of(), null, null)).isNotNull();
  }
}
