package dev.pgreclaim.reclaim;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgreclaim.metrics.ReclaimMetrics;
import dev.pgreclaim.policy.LimitKind;
import dev.pgreclaim.policy.PolicyParser;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;

/**
 * Per-(server, role) state stays bounded in an application that opens as thousands of roles, one per tenant (issue 11,
 * point 10). Creating a site opens no connection, so no server is needed.
 */
class ReclaimerBoundsTest {

  @Test
  void reclaimSitesAreBoundedAndTheMostRecentlyUsedAreKept() throws Exception {
    Properties settings = new Properties();
    settings.setProperty("pgreclaim.mode", "terminate");
    settings.setProperty("pgreclaim.admin.user", "admin");
    Reclaimer reclaimer = new Reclaimer(PolicyParser.parse(null, settings, Map.of()), new ReclaimMetrics());
    try {
      ReclaimSite first = null;
      for (int tenant = 0; tenant < 3 * Reclaimer.MAX_SITES; tenant++) {
        ConnectTarget target = ConnectTarget.parse("jdbc:postgresql://db.example:5432/app?user=tenant_" + tenant,
            null);
        ReclaimSite site = reclaimer.siteFor(target, target.user(), LimitKind.ROLE);
        if (tenant == 0) {
          first = site;
        }
        // tenant 0 stays in use: the eviction takes the least recently used, never the one in use
        ConnectTarget tenantZero = ConnectTarget.parse("jdbc:postgresql://db.example:5432/app?user=tenant_0", null);
        assertThat(reclaimer.siteFor(tenantZero, "tenant_0", LimitKind.ROLE)).isSameAs(first);
        assertThat(reclaimer.siteCount()).isLessThanOrEqualTo(Reclaimer.MAX_SITES);
      }
      assertThat(reclaimer.siteCount()).isEqualTo(Reclaimer.MAX_SITES);
    } finally {
      reclaimer.close();
    }
  }
}
