package dev.pgreclaim.agent;

import dev.pgreclaim.log.AgentLog;
import dev.pgreclaim.policy.Policy;
import dev.pgreclaim.reclaim.AdminCheck;

/**
 * Optional start-up check of the admin side ({@code pgreclaim.self-check=true}). Runs on the agent's init thread,
 * never the application's. Without a configured admin URL there is no server to check until a refusal names one.
 */
final class SelfCheck {
    private SelfCheck() {
    }

    static void run(Policy policy, ClassLoader driverLoader) {
        if (policy.adminUrl() == null) {
            AgentLog.info("pg-reclaim: self-check skipped: set pgreclaim.admin.url to check the admin side at"
                    + " start-up (without it the server is known only when an open is refused)");
            return;
        }
        try {
            Object driver = Class.forName("org.postgresql.Driver", true, driverLoader).getConstructor().newInstance();
            AgentLog.info("pg-reclaim: self-check: {}", AdminCheck.run(driver, policy.adminUrl(), policy.adminUser(),
                    policy.adminPassword()));
        } catch (Exception checkFailure) {
            AgentLog.warn("pg-reclaim: self-check failed: {}", AdminCheck.explain(checkFailure));
        }
    }
}
