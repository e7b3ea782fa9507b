package dev.pgreclaim.reclaim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.pgreclaim.policy.InvalidPolicyException;
import dev.pgreclaim.policy.VictimRules;
import dev.pgreclaim.testkit.HeldSessions.State;
import dev.pgreclaim.testkit.HeldSessions;
import dev.pgreclaim.testkit.PostgresServer;
import dev.pgreclaim.testkit.PostgresTest;
import dev.pgreclaim.testkit.TestDatabase.Seed;
import dev.pgreclaim.testkit.TestDatabase;
import java.sql.Connection;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@code application_name} as PostgreSQL shows it: cut to 63 bytes, non-ASCII bytes replaced. A protect pattern is
 * matched against that form; one that can only match the name as the client sent it is refused by the parser, since
 * on the server it protects nothing (shown here with the rules built directly, past the parser).
 */
@PostgresTest
class ApplicationNameShownFormTest {
  private static final String LONG_NAME = "nightly-ledger-reconciliation-worker-" + "x".repeat(30) + "-eu-west";

  @Test
  void aNameLongerThan63BytesIsProtectedByAPatternForItsShownForm(PostgresServer server) throws Exception {
    assertThat(LONG_NAME.length()).isGreaterThan(63);
    String shown = LONG_NAME.substring(0, 63);
    try (Seed seed = TestDatabase.seed(server, 3); HeldSessions held = new HeldSessions(server)) {
      int longNamed = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, LONG_NAME);
      int accented = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "caf\u00e9-worker");
      Thread.sleep(300);
      int victim = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "report-viewer");
      Thread.sleep(300);

      try (Connection admin = seed.connectAsAdmin()) {
        assertThat(held.stateOf(longNamed)).isNotNull();
        // As the client sent it, the name protects nothing: the server never shows it (why the parser refuses it).
        List<Victim> unprotected = VictimQuery.candidates(admin, VictimScope.role(seed.role()),
            new VictimRules(200, List.of(LONG_NAME, "caf\u00e9-worker"), List.of(), List.of()), 10);
        assertThat(unprotected).extracting(Victim::pid).contains(longNamed, accented);
        assertThat(unprotected).filteredOn(v -> v.pid() == longNamed).extracting(Victim::applicationName)
            .containsExactly(shown);
      }
      for (String pattern : new String[] {LONG_NAME, "caf\u00e9-worker"}) {
        InvalidPolicyException refused = assertThrows(InvalidPolicyException.class, () -> AdviceLoop.terminating(
            seed.admin(), seed.adminPassword(), Map.of("pgreclaim.protect.application-names", pattern)));
        assertThat(refused.getMessage()).contains("pgreclaim.protect.application-names").contains("can never match");
      }

      // The shown form (exact, 63 bytes) and an ASCII wildcard for the accented letter do protect.
      try (AdviceLoop agent = AdviceLoop.terminating(seed.admin(), seed.adminPassword(),
          Map.of("pgreclaim.protect.application-names", shown + ",caf*-worker"))) {
        held.keep(agent.open(seed.url(), seed.role(), seed.rolePassword()));
        assertThat(agent.metrics.terminations()).isEqualTo(1);
        assertThat(held.gone(victim)).as("the unprotected, less idle session is the one terminated").isTrue();
        assertThat(held.alive(longNamed)).as("the long-named session, the longest idle, is spared").isTrue();
        assertThat(held.alive(accented)).isTrue();
      }
    }
  }
}
