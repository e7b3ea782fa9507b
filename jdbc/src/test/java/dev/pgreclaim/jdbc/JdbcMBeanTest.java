package dev.pgreclaim.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The wrapper's MBean: {@code dev.pgreclaim:type=Jdbc}, registered in the background, showing its counters. */
class JdbcMBeanTest {

  @Test
  @Timeout(value = 30, unit = TimeUnit.SECONDS)
  void theWrapperRegistersItsOwnMBeanShowingItsCounters() throws Exception {
    // an active policy starts the background work (prewarm, then the MBean) once per JVM
    assertThat(EffectivePolicies.handlerFor(Map.of("pgreclaim.mode", "observe", "pgreclaim.min-idle", "77s"),
        List.of(), null, null)).isNotNull();
    MBeanServer server = ManagementFactory.getPlatformMBeanServer();
    ObjectName jdbc = new ObjectName("dev.pgreclaim:type=Jdbc");
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!server.isRegistered(jdbc) && System.nanoTime() < until) {
      Thread.sleep(50);
    }
    assertThat(server.isRegistered(jdbc)).isTrue();
    assertThat(server.isRegistered(new ObjectName("dev.pgreclaim:type=Agent"))).as("the agent's name").isFalse();
    assertThat((Long) server.getAttribute(jdbc, "Terminations")).isEqualTo(PgReclaimDriver.metrics().terminations());
    assertThat((String) server.getAttribute(jdbc, "EffectivePolicy")).contains("min-idle=77s");
  }
}
