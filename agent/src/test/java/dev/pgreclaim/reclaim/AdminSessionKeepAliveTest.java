package dev.pgreclaim.reclaim;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgreclaim.testkit.PostgresServer;
import dev.pgreclaim.testkit.PostgresTest;
import dev.pgreclaim.testkit.TestDatabase;
import dev.pgreclaim.testkit.TestDatabase.Seed;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Issue 11 point 3: the admin session's keep-alive close never closes a session that has been handed out again. */
@PostgresTest
@Timeout(60)
class AdminSessionKeepAliveTest {
  private static final long WAIT_SECONDS = 10;

  private static long deadline() {
    return System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
  }

  private static int selectOne(Connection connection) throws SQLException {
    try (Statement st = connection.createStatement(); ResultSet rs = st.executeQuery("select 1")) {
      rs.next();
      return rs.getInt(1);
    }
  }

  /**
   * The close task fires (keep-alive 1 ms) and is held before it takes the session's lock; the session is acquired
   * again meanwhile (cancelling a running task does not stop it); then the close task goes on. The connection handed
   * out must stay open and usable.
   */
  @Test
  void aKeepAliveCloseRacingAReuseLeavesTheReusedSessionOpen(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, -1)) {
      AdminSession session = new AdminSession(seed.url(), new Properties(), seed.admin(), seed.adminPassword(), 1);
      CountDownLatch closeStarted = new CountDownLatch(1);
      CountDownLatch mayClose = new CountDownLatch(1);
      session.beforeKeepAliveClose = () -> {
        closeStarted.countDown();
        try {
          mayClose.await(WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException interrupted) {
          Thread.currentThread().interrupt();
        }
      };
      org.postgresql.Driver driver = new org.postgresql.Driver();
      try {
        Connection first = session.acquire(driver, deadline());
        session.release(true);
        assertThat(closeStarted.await(WAIT_SECONDS, TimeUnit.SECONDS)).isTrue();

        Connection reused = session.acquire(driver, deadline());
        assertThat(session.lastAcquireReused()).isTrue();
        assertThat(reused).isSameAs(first);
        mayClose.countDown();
        AdminSession.awaitCloser(TimeUnit.SECONDS.toMillis(WAIT_SECONDS));

        assertThat(reused.isClosed()).isFalse();
        assertThat(selectOne(reused)).isEqualTo(1);
      } finally {
        mayClose.countDown();
        session.close();
      }
    }
  }

  /** The fix must not keep sessions forever: released and left alone, the session is closed after the keep-alive. */
  @Test
  void aReleasedSessionIsStillClosedAfterTheKeepAlive(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, -1)) {
      AdminSession session = new AdminSession(seed.url(), new Properties(), seed.admin(), seed.adminPassword(), 1);
      org.postgresql.Driver driver = new org.postgresql.Driver();
      try {
        Connection first = session.acquire(driver, deadline());
        session.release(true);
        // Reused and released again before its close ran: the second release's close ends it.
        Connection again = session.acquire(driver, deadline());
        session.release(true);
        long until = deadline();
        while (!again.isClosed() && System.nanoTime() < until) {
          AdminSession.awaitCloser(TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
        }
        assertThat(again.isClosed()).isTrue();
        assertThat(first.isClosed()).isTrue();
        Connection fresh = session.acquire(driver, deadline());
        assertThat(session.lastAcquireReused()).isFalse();
        assertThat(fresh.isClosed()).isFalse();
      } finally {
        session.close();
      }
    }
  }

  /**
   * A close set by an earlier release, held until after the session was acquired and released again, does not cut
   * the later release's keep-alive short: only the close that release set ends the session.
   */
  @Test
  void anEarlierReleasesCloseDoesNotEndALaterKeepAlive(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, -1)) {
      AdminSession session = new AdminSession(seed.url(), new Properties(), seed.admin(), seed.adminPassword(), 1);
      CountDownLatch[] started = {new CountDownLatch(1), new CountDownLatch(1)};
      CountDownLatch[] mayClose = {new CountDownLatch(1), new CountDownLatch(1)};
      AtomicInteger closes = new AtomicInteger();
      session.beforeKeepAliveClose = () -> {
        int n = Math.min(closes.getAndIncrement(), 1);
        started[n].countDown();
        try {
          mayClose[n].await(WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException interrupted) {
          Thread.currentThread().interrupt();
        }
      };
      org.postgresql.Driver driver = new org.postgresql.Driver();
      try {
        Connection connection = session.acquire(driver, deadline());
        session.release(true);
        assertThat(started[0].await(WAIT_SECONDS, TimeUnit.SECONDS)).isTrue();
        assertThat(session.acquire(driver, deadline())).isSameAs(connection);
        session.release(true);
        mayClose[0].countDown();
        // The closer has one thread: the second close starts only after the first has finished.
        assertThat(started[1].await(WAIT_SECONDS, TimeUnit.SECONDS)).isTrue();
        assertThat(connection.isClosed()).isFalse();
        mayClose[1].countDown();
        AdminSession.awaitCloser(TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
        assertThat(connection.isClosed()).isTrue();
      } finally {
        mayClose[0].countDown();
        mayClose[1].countDown();
        session.close();
      }
    }
  }
}
