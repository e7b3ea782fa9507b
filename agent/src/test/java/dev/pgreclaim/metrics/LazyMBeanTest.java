package dev.pgreclaim.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgreclaim.policy.LimitKind;
import java.lang.management.ManagementFactory;
import java.util.concurrent.atomic.AtomicReference;
import javax.management.ObjectName;
import org.junit.jupiter.api.Test;

/**
 * The refusal-triggered registration of {@link LazyMBean}: it waits until refusals have been quiet for
 * {@link LazyMBean#QUIET_MILLIS}, so the platform server's creation never competes with a reclaim, and it still obeys
 * an attach that turned JMX off (or registered the MBean itself) while it waited. No database: pure JVM behaviour.
 */
class LazyMBeanTest {

  @Test
  void refusalsThatKeepComingPostponeTheRegistrationUntilTheyStop() throws Exception {
    String name = "dev.pgreclaim.test:type=Postponed";
    ReclaimMetrics metrics = new ReclaimMetrics();
    LazyMBean.arm(name, metrics, new AtomicReference<>("policy"));

    long until = System.nanoTime() + (LazyMBean.QUIET_MILLIS + 1000) * 1_000_000L;
    while (System.nanoTime() < until) {
      metrics.refusal(LimitKind.ROLE);
      assertThat(registered(name)).as("registered while refusals were still coming").isFalse();
      Thread.sleep(LazyMBean.QUIET_MILLIS / 5);
    }
    assertThat(registered(name)).isFalse();
    assertThat(metrics.mBeanPending()).isTrue();

    long deadline = System.nanoTime() + (LazyMBean.QUIET_MILLIS + 5000) * 1_000_000L;
    while (!registered(name) && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
    assertThat(registered(name)).as("registered once the refusals stopped").isTrue();
    assertThat(metrics.mBeanPending()).isFalse();
    ReclaimStats.unregister(name);
  }

  @Test
  void anAttachThatTurnsJmxOffWhileTheRegistrationWaitsWins() throws Exception {
    String name = "dev.pgreclaim.test:type=Disarmed";
    ReclaimMetrics metrics = new ReclaimMetrics();
    LazyMBean.arm(name, metrics, new AtomicReference<>("policy"));

    metrics.refusal(LimitKind.ROLE);
    LazyMBean.disarm(metrics);
    Thread.sleep(LazyMBean.QUIET_MILLIS + 1500);

    assertThat(registered(name)).as("registered although JMX was turned off").isFalse();
    assertThat(metrics.mBeanPending()).isFalse();
  }

  private static boolean registered(String name) throws Exception {
    return ManagementFactory.getPlatformMBeanServer().isRegistered(new ObjectName(name));
  }
}
