package dev.pgreclaim.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgreclaim.reclaim.HeldSessions;
import dev.pgreclaim.reclaim.HeldSessions.State;
import dev.pgreclaim.testkit.ForkedJvm;
import dev.pgreclaim.testkit.PostgresServer;
import dev.pgreclaim.testkit.PostgresTest;
import dev.pgreclaim.testkit.TestDatabase;
import dev.pgreclaim.testkit.TestDatabase.Seed;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The safety rules that are about the agent path itself or about several JVMs. */
@PostgresTest
class SafetyIT {

  @Test
  void anInvalidPropertyLeavesTheAgentInertAndTheAppGetsIts53300(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, 1); HeldSessions held = new HeldSessions(server)) {
      int idle = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "would-be-victim");
      Thread.sleep(300);

      ForkedJvm.Result withAgent = AgentRun.app().terminating(seed).property("pgreclaim.min-idle", "ten seconds")
          .run(seed.url(), seed.role());
      ForkedJvm.Result withoutAgent = AgentRun.app().withoutAgent().env("APP_PASSWORD", seed.rolePassword())
          .run(seed.url(), seed.role());

      assertThat(withAgent.exitCode()).as(withAgent.toString()).isEqualTo(1);
      assertThat(withAgent.stdout()).isEqualTo(withoutAgent.stdout())
          .startsWith("FAILED sqlstate=53300 class=org.postgresql.util.PSQLException").doesNotContain("SUPPRESSED");
      assertThat(withAgent.stderr()).contains("invalid configuration, agent inactive")
          .contains("pgreclaim.min-idle='ten seconds' is invalid");
      assertThat(held.alive(idle)).isTrue();
      assertThat(withAgent.stdout() + withAgent.stderr()).doesNotContain(seed.adminPassword());
    }
  }

  @Test
  void anAgentThatThrowsLeavesTheAppWithExactlyItsOriginalOutcome(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, 1); HeldSessions held = new HeldSessions(server)) {
      int idle = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "would-be-victim");
      Thread.sleep(300);

      ForkedJvm.Result result = AgentRun.app().terminating(seed).property("dev.pgreclaim.faultInjection", "true")
          .run(seed.url(), seed.role(), "logintimeout");

      assertThat(result.exitCode()).as(result.toString()).isEqualTo(1);
      assertThat(result.stdout()).startsWith("FAILED sqlstate=53300 class=org.postgresql.util.PSQLException")
          .contains("too many connections for role").doesNotContain("SUPPRESSED");
      assertThat(result.stderr()).contains("internal error, the application got its original outcome")
          .contains("fault injected").doesNotContain("AUDIT");
      assertThat(held.alive(idle)).isTrue();
    }
  }

  @Test
  void theSelfCheckNamesTheMissingGrantOffTheMainThread(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, 1); HeldSessions held = new HeldSessions(server)) {
      server.execute("postgres", "revoke pg_read_all_stats from " + seed.admin());
      held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "would-be-victim");
      Thread.sleep(300);

      ForkedJvm.Result result = AgentRun.app().terminating(seed).property("pgreclaim.self-check", "true")
          .property("pgreclaim.admin.url", seed.url()).run(seed.url(), seed.role());

      assertThat(result.stderr()).as(result.toString()).contains("self-check: admin role " + seed.admin())
          .contains("MISSING pg_read_all_stats").contains("GRANT pg_read_all_stats TO " + seed.admin());
      assertThat(result.stdout()).contains("FAILED sqlstate=53300").contains("gave up: state-hidden");
      assertThat(result.stdout() + result.stderr()).doesNotContain(seed.adminPassword());
    }
  }

  /**
   * Three JVMs race for a role limited to 2 whose 2 slots are held by idle sessions. Each holds the connection it
   * gets, so at most 2 can win; the advisory lock makes them terminate each victim once (never the same pid twice,
   * never a third session).
   */
  @Test
  void threeJvmsRacingOverTwoIdleVictimsTerminateAtMostTwo(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, 2); HeldSessions held = new HeldSessions(server)) {
      int first = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "idle-1");
      int second = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "idle-2");
      long startAt = System.currentTimeMillis() + 4000;
      List<ForkedJvm.Handle> jvms = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        jvms.add(AgentRun.app().terminating(seed).mainClass(RacingConnectApp.class.getName())
            .property("pgreclaim.min-idle", "1500ms").property("pgreclaim.deadline", "1s")
            .builder(String.valueOf(startAt), "2500", seed.url(), seed.role()).start());
      }
      List<ForkedJvm.Result> results = new ArrayList<>();
      for (ForkedJvm.Handle jvm : jvms) {
        results.add(jvm.waitFor(java.time.Duration.ofSeconds(60)));
      }
      Set<String> terminated = new HashSet<>();
      int audits = 0;
      int connected = 0;
      Pattern audit = Pattern.compile("AUDIT terminated pid=(\\d+)");
      for (ForkedJvm.Result result : results) {
        System.out.println(result);
        Matcher matcher = audit.matcher(result.stderr());
        while (matcher.find()) {
          audits++;
          terminated.add(matcher.group(1));
        }
        if (result.stdout().contains("CONNECTED")) {
          connected++;
        } else {
          assertThat(result.stdout()).as(result.toString()).contains("FAILED sqlstate=53300 suppressed=1");
        }
        assertThat(result.stdout() + result.stderr()).doesNotContain(seed.adminPassword());
      }
      assertThat(audits).as("terminations across JVMs").isLessThanOrEqualTo(2).isEqualTo(terminated.size());
      assertThat(terminated).isSubsetOf(Set.of(String.valueOf(first), String.valueOf(second)));
      assertThat(connected).isBetween(1, 2);
    }
  }
}
