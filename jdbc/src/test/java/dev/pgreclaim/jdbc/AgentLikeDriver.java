package dev.pgreclaim.jdbc;

import dev.pgreclaim.metrics.ReclaimMetrics;
import dev.pgreclaim.policy.Policy;
import dev.pgreclaim.reclaim.OpenHandler;
import dev.pgreclaim.reclaim.Reclaimer;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Properties;

/**
 * pgjdbc's driver with the agent's woven {@code connect} (the loop {@code DriverWeaver} writes around the original
 * body, handing each exit to the core's {@link OpenHandler} with the agent's own reclaimer and counters): what the
 * wrapper finds underneath it when the agent is attached to the same JVM.
 */
final class AgentLikeDriver extends org.postgresql.Driver {
  final ReclaimMetrics agentMetrics = new ReclaimMetrics();
  private final OpenHandler agent;

  AgentLikeDriver(Policy policy) {
    this.agent = new OpenHandler(new Reclaimer(policy, agentMetrics), agentMetrics);
  }

  @Override
  public Connection connect(String url, Properties info) throws SQLException {
    Object[] round = OpenHandler.newRound();
    String runUrl = url;
    Properties runInfo = info;
    while (true) {
      Connection connection = null;
      Throwable thrown = null;
      try {
        connection = super.connect(runUrl, runInfo);
      } catch (Throwable failure) {
        thrown = failure;
      }
      if (!agent.onExit(this, url, info, connection, thrown, round)) {
        if (thrown != null) {
          throw (SQLException) (round[1] != null ? round[1] : thrown);
        }
        return connection;
      }
      if (round[3] != null) {
        runInfo = (Properties) round[3];
      }
      if (round[4] != null) {
        runUrl = (String) round[4];
      }
    }
  }
}
