package dev.pgreclaim.bench;

import java.lang.management.ManagementFactory;
import javax.management.MBeanServer;
import javax.management.ObjectName;

/**
 * Reads pg-reclaim's counters in a child JVM: the agent's MBean, or the wrapper driver's (it has its own name, since
 * both can live in one JVM). Either registers a moment after the driver loads or first opens.
 */
final class AgentMBean {
    static final String AGENT = "dev.pgreclaim:type=Agent";
    static final String WRAPPER = "dev.pgreclaim:type=Jdbc";

    private AgentMBean() {
    }

    static long terminations() throws Exception {
        return terminations(AGENT);
    }

    /** The counter, or -1 when the MBean is not there after 10 s (pg-reclaim inactive: the figure says so). */
    static long terminations(String objectName) throws Exception {
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        ObjectName name = new ObjectName(objectName);
        for (int i = 0; i < 200 && !server.isRegistered(name); i++) {
            Thread.sleep(50);
        }
        return server.isRegistered(name) ? (Long) server.getAttribute(name, "Terminations") : -1;
    }
}
