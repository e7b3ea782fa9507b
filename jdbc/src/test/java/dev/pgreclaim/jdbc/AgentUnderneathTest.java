package dev.pgreclaim.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgreclaim.jdbc.HeldSessions.State;
import dev.pgreclaim.policy.PolicyParser;
import dev.pgreclaim.reclaim.OpenHandler;
import dev.pgreclaim.testkit.PostgresServer;
import dev.pgreclaim.testkit.PostgresTest;
import dev.pgreclaim.testkit.TestDatabase;
import dev.pgreclaim.testkit.TestDatabase.Seed;
import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * The wrapper over a driver the agent has woven, both terminating for the same role: the wrapper reclaims, the agent
 * leaves the open alone (it sees the owner mark), so there is one termination and one audit line, never two.
 */
@PostgresTest
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class AgentUnderneathTest {

  @Test
  void theWrapperReclaimsAndTheAgentUnderneathLeavesTheOpenAlone(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, 1); HeldSessions held = new HeldSessions(server);
        LogCapture log = LogCapture.start()) {
      int idle = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "forgotten-psql");
      held.awaitIdleFor(300, idle);
      Properties agentPolicy = new Properties();
      agentPolicy.setProperty("pgreclaim.mode", "terminate");
      agentPolicy.setProperty("pgreclaim.admin.user", seed.admin());
      agentPolicy.setProperty("pgreclaim.admin.password", seed.adminPassword());
      agentPolicy.setProperty("pgreclaim.min-idle", "200ms");
      AgentLikeDriver woven = new AgentLikeDriver(PolicyParser.parse(null, agentPolicy, Map.of()));
      long wrapperTerminations = PgReclaimDriver.metrics().terminations();

      Connection connection = new PgReclaimDriver(woven).connect(WrapperSetup.terminatingUrl(seed),
          WrapperSetup.login(seed));
      held.keep(connection);

      assertThat(held.gone(idle)).isTrue();
      assertThat(PgReclaimDriver.metrics().terminations() - wrapperTerminations).as("the wrapper's").isEqualTo(1);
      assertThat(woven.agentMetrics.refusalsTotal()).as("the agent never handled the refusal").isZero();
      assertThat(woven.agentMetrics.terminations()).isZero();
      assertThat(log.count("pg-reclaim AUDIT")).isEqualTo(1);
    }
  }

  /** The wrapped DataSource marks its thread while the target opens (pgjdbc builds those Properties itself). */
  @Test
  void aWrappedDataSourceOpensOnAThreadMarkedAsTheWrappersOnlyWhileTheTargetRuns(PostgresServer server)
      throws Exception {
    try (Seed seed = TestDatabase.seed(server, -1)) {
      PGSimpleDataSource pgjdbc = new PGSimpleDataSource();
      pgjdbc.setUrl(seed.url());
      pgjdbc.setUser(seed.role());
      pgjdbc.setPassword(seed.rolePassword());
      List<Boolean> markedDuringOpen = new ArrayList<>();
      DataSource observing = new ForwardingDataSource(pgjdbc) {
        @Override
        public Connection getConnection() throws SQLException {
          markedDuringOpen.add(OpenHandler.ownedElsewhere(null));
          return super.getConnection();
        }
      };
      try (SystemProperties ignored = SystemProperties.set("pgreclaim.mode", "observe")) {
        try (Connection connection = new PgReclaimDataSource(observing).getConnection()) {
          assertThat(connection.isValid(5)).isTrue();
        }
      }
      assertThat(markedDuringOpen).containsExactly(true);
      assertThat(OpenHandler.ownedElsewhere(null)).as("the mark is gone once the open returned").isFalse();
    }
  }

  /** Forwards everything to a pgjdbc DataSource, including the getUrl/getUser the wrapper reads. */
  static class ForwardingDataSource implements DataSource {
    private final PGSimpleDataSource target;

    ForwardingDataSource(PGSimpleDataSource target) {
      this.target = target;
    }

    public String getUrl() {
      return target.getUrl();
    }

    public String getUser() {
      return target.getUser();
    }

    @Override
    public Connection getConnection() throws SQLException {
      return target.getConnection();
    }

    @Override
    public Connection getConnection(String username, String password) throws SQLException {
      return target.getConnection(username, password);
    }

    @Override
    public PrintWriter getLogWriter() throws SQLException {
      return target.getLogWriter();
    }

    @Override
    public void setLogWriter(PrintWriter out) throws SQLException {
      target.setLogWriter(out);
    }

    @Override
    public void setLoginTimeout(int seconds) throws SQLException {
      target.setLoginTimeout(seconds);
    }

    @Override
    public int getLoginTimeout() throws SQLException {
      return target.getLoginTimeout();
    }

    @Override
    public Logger getParentLogger() throws SQLFeatureNotSupportedException {
      return target.getParentLogger();
    }

    @Override
    public <T> T unwrap(Class<T> iface) throws SQLException {
      return target.unwrap(iface);
    }

    @Override
    public boolean isWrapperFor(Class<?> iface) throws SQLException {
      return target.isWrapperFor(iface);
    }
  }
}
