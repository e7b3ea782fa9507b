package dev.pgreclaim.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgreclaim.testkit.ForkedJvm;
import dev.pgreclaim.testkit.IdleHolder;
import dev.pgreclaim.testkit.IdleHolder.HoldState;
import dev.pgreclaim.testkit.PostgresServer;
import dev.pgreclaim.testkit.PostgresTest;
import dev.pgreclaim.testkit.TestDatabase;
import dev.pgreclaim.testkit.TestDatabase.Seed;
import org.junit.jupiter.api.Test;

/**
 * When the agent registers its MBean in an application without JMX of its own (see {@code LazyMBean}): it never
 * creates the platform MBean server just in case (about 8.5 MiB and 0.15 s of CPU on Java 17), but registers at the
 * first refusal, or at an open once the application (or a jconsole/jcmd management agent) has created the server.
 * After a refusal it waits until refusals have been quiet for a while, so the server's creation (~400 classes) never
 * competes for the CPU with the reclaim: the first reclaim of a JVM measured a third slower when it did.
 */
@PostgresTest
class MBeanRegistrationIT {

  @Test
  void noPlatformMBeanServerIsCreatedAtStartAndTheFirstRefusalRegistersTheMBean(PostgresServer server)
      throws Exception {
    try (Seed seed = TestDatabase.seed(server, 1);
        IdleHolder holder = IdleHolder.start(seed.url(), seed.role(), seed.rolePassword(), HoldState.IDLE,
            "forgotten-psql")) {
      IdleHolder.awaitSettled(server, 300, holder);

      ForkedJvm.Result result = AgentRun.app().mainClass(JmxApp.class.getName()).terminating(seed)
          .run("refusal", seed.url(), seed.role());

      assertThat(result.exitCode()).as(result.toString()).isZero();
      assertThat(result.stdout()).as(result.toString())
          .doesNotContain("INIT STILL RUNNING")
          .contains("PLATFORM_SERVER_BEFORE=false\n")
          .contains("CONNECTED\n")
          .contains("PLATFORM_SERVER_AT_OPEN_END=false\n")
          .contains("PLATFORM_SERVER_HALF_A_SECOND_LATER=false\n")
          .contains("MBEAN_REGISTERED=true\n")
          .contains("MBEAN Terminations=1\n");
      assertThat(result.stdout() + result.stderr()).as(result.toString())
          .contains("pg-reclaim AUDIT terminated pid=" + holder.backendPid());
    }
  }

  @Test
  void aPlatformMBeanServerTheApplicationCreatesLaterGetsTheMBeanAtAnOpen(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, 1)) {
      ForkedJvm.Result result = AgentRun.app().mainClass(JmxApp.class.getName()).terminating(seed)
          .run("late-jmx", seed.url(), seed.role());

      assertThat(result.exitCode()).as(result.toString()).isZero();
      assertThat(result.stdout()).as(result.toString())
          .contains("PLATFORM_SERVER_BEFORE=false\n")
          .contains("MBEAN_REGISTERED=true\n")
          .contains("MBEAN Terminations=0\n");
    }
  }
}
