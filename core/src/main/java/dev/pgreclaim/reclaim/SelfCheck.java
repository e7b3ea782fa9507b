package dev.pgreclaim.reclaim;

import dev.pgreclaim.log.ReclaimLog;
import dev.pgreclaim.policy.Policy;

/**
 * Optional start-up check of the admin side ({@code pgreclaim.self-check=true}). Runs on a background thread of
 * pg-reclaim, never the application's. Without a configured admin URL there is no server to check until a refusal
 * names one.
 */
public final class SelfCheck {
    private SelfCheck() {
    }

    public static void run(Policy policy, ClassLoader driverLoader) {
        if (policy.adminUrl() == null) {
            ReclaimLog.info("pg-reclaim: self-check skipped: set pgreclaim.admin.url to check the admin side at"
                    + " start-up (without it the server is known only when an open is refused)");
            return;
        }
        try {
            Object driver = Class.forName("org.postgresql.Driver", true, driverLoader).getConstructor().newInstance();
            ReclaimLog.info("pg-reclaim: self-check: {}", AdminCheck.run(driver, policy.adminUrl(), policy.adminUser(),
                    policy.adminPassword()));
        } catch (Exception checkFailure) {
            ReclaimLog.warn("pg-reclaim: self-check failed: {}", AdminCheck.explain(checkFailure));
        }
    }
}
