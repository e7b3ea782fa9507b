package dev.pgreclaim.bench;

import java.lang.management.ManagementFactory;
import javax.management.MBeanServer;
import javax.management.ObjectName;

/** Reads the agent's counters in a child JVM; the agent registers its MBean a moment after the driver loads. */
final class AgentMBean {
    private AgentMBean() {
    }

    static long terminations() throws Exception {
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        ObjectName name = new ObjectName("dev.pgreclaim:type=Agent");
        for (int i = 0; i < 200 && !server.isRegistered(name); i++) {
            Thread.sleep(50);
        }
        return (Long) server.getAttribute(name, "Terminations");
    }
}
