package dev.pgreclaim.reclaim;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgreclaim.policy.VictimRules;
import dev.pgreclaim.testkit.HeldSessions.State;
import dev.pgreclaim.testkit.HeldSessions;
import dev.pgreclaim.testkit.PostgresServer;
import dev.pgreclaim.testkit.PostgresServers;
import dev.pgreclaim.testkit.PostgresTest;
import dev.pgreclaim.testkit.TestDatabase.Seed;
import dev.pgreclaim.testkit.TestDatabase;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Each {@link KillGuards} guard, checked by the terminating statement itself, against real sessions. Every test
 * also shows that without the guard the same statement would have terminated a session.
 */
@PostgresTest
@Timeout(120)
class KillGuardsTest {
  private static final VictimRules ANY_IDLE = new VictimRules(0, List.of(), List.of(), List.of());

  @Test
  void anExcludedPidIsNeverSelectedAgain(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, -1); HeldSessions held = new HeldSessions(server)) {
      int older = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "older");
      Thread.sleep(20);
      int newer = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "newer");
      try (Connection admin = admin(seed)) {
        VictimScope scope = VictimScope.role(seed.role());
        assertThat(VictimQuery.candidates(admin, scope, ANY_IDLE, KillGuards.NONE, 5)).extracting(Victim::pid)
            .containsExactly(older, newer);
        KillGuards guards = KillGuards.of(new int[] {older}, null, null, false);
        assertThat(VictimQuery.candidates(admin, scope, ANY_IDLE, guards, 5)).extracting(Victim::pid)
            .containsExactly(newer);
        assertThat(VictimQuery.terminateOne(admin, scope, ANY_IDLE, guards).pid()).isEqualTo(newer);
        assertThat(VictimQuery.terminateOne(admin, scope, ANY_IDLE, guards.excluding(newer))).isNull();
        assertThat(held.alive(older)).isTrue();
      }
    }
  }

  @Test
  void aSignalledSessionThatIsStillExitingIsNotPickedAgain(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, -1); Connection slow = slowExiting(seed, 3000);
        Connection admin = admin(seed)) {
      int pid = pid(slow);
      VictimScope scope = VictimScope.role(seed.role());
      Victim first = VictimQuery.terminateOne(admin, scope, ANY_IDLE, KillGuards.NONE);
      long signalled = System.nanoTime();
      assertThat(first.pid()).isEqualTo(pid);
      assertThat(first.terminated()).isTrue();
      // no exclusion: only the wait event tells that it is exiting
      Victim again = VictimQuery.terminateOne(admin, scope, ANY_IDLE, KillGuards.NONE);
      String[] seen = stateOf(admin, pid);
      assertThat(seen).as("still exiting after the second statement, so the test means something").isNotNull();
      assertThat(again).as("picked again while exiting (state %s, wait event %s)", seen[0], seen[1]).isNull();
      assertThat(VictimQuery.whyNone(admin, scope, ANY_IDLE, KillGuards.NONE).ready()).isZero();
      long exitedAfter = awaitGone(admin, pid);
      System.out.printf("slow victim (3000 temp tables): seen as state=%s wait_event=%s after the signal;"
          + " left pg_stat_activity %d ms after it%n", seen[0], seen[1],
          (exitedAfter - signalled) / 1_000_000);
    }
  }

  @Test
  void anIdleSessionOfTheRequesterMeansItIsNotStarving(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, -1); HeldSessions held = new HeldSessions(server)) {
      int victim = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "other-service");
      int requesterIdle = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "pool");
      int requesterBusy = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.ACTIVE, "pool");
      try (Connection admin = admin(seed)) {
        VictimScope scope = VictimScope.role(seed.role());
        KillGuards notStarving = KillGuards.of(null, new int[] {requesterBusy, requesterIdle}, null, false);
        // Idle for less than a second, the requester's session is not spare yet (a caller between two
        // statements, or a connection just opened): the requester still counts as starving.
        assertThat(VictimQuery.whyNone(admin, scope, ANY_IDLE, notStarving).requesterIdle()).isZero();
        long until = System.nanoTime() + 10_000_000_000L;
        while (VictimQuery.whyNone(admin, scope, ANY_IDLE, notStarving).requesterIdle() == 0
            && System.nanoTime() < until) {
          Thread.sleep(50);
        }
        assertThat(VictimQuery.terminateOne(admin, scope, ANY_IDLE, notStarving)).isNull();
        NoVictim why = VictimQuery.whyNone(admin, scope, ANY_IDLE, notStarving);
        assertThat(why.reason()).isEqualTo(NoVictim.Reason.REQUESTER_NOT_STARVING);
        assertThat(why.requesterIdle()).isEqualTo(1);
        assertThat(why.describe()).contains("not starving");
        assertThat(held.alive(victim)).isTrue();

        KillGuards starving = KillGuards.of(null, new int[] {requesterBusy}, null, false);
        assertThat(VictimQuery.whyNone(admin, scope, ANY_IDLE, starving).requesterIdle()).isZero();
        assertThat(VictimQuery.terminateOne(admin, scope, ANY_IDLE, starving).pid()).isEqualTo(victim);
      }
    }
  }

  /** Issue 11 point 2: a role-limit kill whose retry the open's database would still refuse helps nobody. */
  @Test
  void aKillThatLeavesTheOpensDatabaseFullTerminatesNothingAndNamesIt(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, 2); Seed other = TestDatabase.seed(server, -1);
        HeldSessions held = new HeldSessions(server)) {
      String db2 = other.database();
      server.execute("postgres", "alter database " + db2 + " connection limit 1");
      int first = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "db1-a");
      int second = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "db1-b");
      int othersIdle = held.hold(other.url(), other.role(), other.rolePassword(), State.IDLE, "db2-other");
      try (Connection admin = admin(seed)) {
        VictimScope scope = VictimScope.role(seed.role());
        KillGuards openDb2 = KillGuards.of(null, null, db2, false);
        assertThat(VictimQuery.candidates(admin, scope, ANY_IDLE, KillGuards.NONE, 5)).hasSize(2);
        assertThat(VictimQuery.terminateOne(admin, scope, ANY_IDLE, openDb2)).isNull();
        NoVictim why = VictimQuery.whyNone(admin, scope, ANY_IDLE, openDb2);
        assertThat(why.reason()).isEqualTo(NoVictim.Reason.DATABASE_FULL);
        assertThat(why.fullDatabase()).isEqualTo(db2);
        assertThat(why.databaseLimit()).isEqualTo(1);
        assertThat(why.databaseSessions()).isEqualTo(1);
        assertThat(why.describe()).contains("database " + db2);
        assertThat(held.alive(first)).isTrue();
        assertThat(held.alive(second)).isTrue();
        assertThat(held.alive(othersIdle)).isTrue();

        // room in db2: a kill in db1 is enough
        server.execute("postgres", "alter database " + db2 + " connection limit 2");
        assertThat(VictimQuery.terminateOne(admin, scope, ANY_IDLE, openDb2).pid()).isEqualTo(first);
      }
    }
  }

  @Test
  void aVictimInTheOpensFullDatabaseFreesItsSlotThereToo(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, -1); Seed other = TestDatabase.seed(server, -1);
        HeldSessions held = new HeldSessions(server)) {
      String db2 = other.database();
      int inDb1 = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "db1-longest-idle");
      Thread.sleep(20);
      int inDb2 = held.hold(other.url(), seed.role(), seed.rolePassword(), State.IDLE, "db2-own");
      server.execute("postgres", "alter database " + db2 + " connection limit 1");
      try (Connection admin = admin(seed)) {
        VictimScope scope = VictimScope.role(seed.role());
        assertThat(VictimQuery.candidates(admin, scope, ANY_IDLE, KillGuards.NONE, 1)).extracting(Victim::pid)
            .containsExactly(inDb1);
        assertThat(VictimQuery.terminateOne(admin, scope, ANY_IDLE, KillGuards.of(null, null, db2, false)).pid())
            .isEqualTo(inDb2);
        assertThat(held.alive(inDb1)).isTrue();
      }
    }
  }

  @Test
  void aKillThatLeavesNoNonReservedSlotTerminatesNothing() throws Exception {
    try (PostgresServer small = PostgresServers.startPrivate(
            Map.of("max_connections", "6", "superuser_reserved_connections", "2"));
        Seed seed = TestDatabase.seed(small, -1); HeldSessions held = new HeldSessions(small)) {
      List<Connection> superusers = new ArrayList<>();
      try (Connection admin = admin(seed)) {
        VictimScope scope = VictimScope.role(seed.role());
        KillGuards needSlot = KillGuards.of(null, null, null, true);
        int first = held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "a");
        held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "b");
        held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "c");
        // admin + 3 = the 4 non-reserved slots: one kill frees one
        assertThat(VictimQuery.whyNone(admin, scope, ANY_IDLE, needSlot).slotsUsable()).isEqualTo(4);
        assertThat(VictimQuery.terminateOne(admin, scope, ANY_IDLE, needSlot).pid()).isEqualTo(first);
        awaitGone(admin, first);
        held.hold(seed.url(), seed.role(), seed.rolePassword(), State.IDLE, "d");
        // two superusers take the reserved slots: after one kill 5 of 6 are still taken, a non-superuser needs 2 free
        for (int i = 0; i < 2; i++) {
          superusers.add(small.connectAsSuperuser("postgres"));
        }
        assertThat(VictimQuery.candidates(admin, scope, ANY_IDLE, KillGuards.NONE, 5)).hasSize(3);
        assertThat(VictimQuery.terminateOne(admin, scope, ANY_IDLE, needSlot)).isNull();
        NoVictim why = VictimQuery.whyNone(admin, scope, ANY_IDLE, needSlot);
        assertThat(why.reason()).isEqualTo(NoVictim.Reason.SERVER_FULL);
        assertThat(why.slotsUsed()).isEqualTo(6);
        assertThat(why.describe()).contains("6 client session(s) for 4 non-reserved slot(s)");
        assertThat(VictimQuery.candidates(admin, scope, ANY_IDLE, KillGuards.NONE, 5)).hasSize(3);
      } finally {
        for (Connection superuser : superusers) {
          superuser.close();
        }
      }
    }
  }

  @Test
  void aListeningSessionIsSparedByDefaultAndTakenWhenAllowed(PostgresServer server) throws Exception {
    try (Seed seed = TestDatabase.seed(server, -1); Connection listener = seed.connectAsRole();
        Connection admin = admin(seed)) {
      int pid = pid(listener);
      try (Statement statement = listener.createStatement()) {
        statement.execute("  LISTEN order_events");
      }
      VictimScope scope = VictimScope.role(seed.role());
      VictimRules byDefault = dev.pgreclaim.policy.PolicyParser.parse(null, properties("pgreclaim.min-idle", "0ms"),
          Map.of()).victimRules();
      VictimRules allowed = dev.pgreclaim.policy.PolicyParser.parse(null, properties("pgreclaim.min-idle", "0ms",
          "pgreclaim.protect.listeners", "false"), Map.of()).victimRules();
      assertThat(byDefault.protectListeners()).isTrue();
      assertThat(allowed.protectListeners()).isFalse();
      assertThat(VictimQuery.terminateOne(admin, scope, byDefault, KillGuards.NONE)).isNull();
      NoVictim why = VictimQuery.whyNone(admin, scope, byDefault, KillGuards.NONE);
      assertThat(why.listeners()).isEqualTo(1);
      assertThat(why.describe()).contains("1 spared as LISTEN sessions");
      assertThat(VictimQuery.terminateOne(admin, scope, allowed, KillGuards.NONE).pid()).isEqualTo(pid);
    }
  }

  @Test
  void guardsAreImmutable() {
    int[] excluded = {1, 2};
    int[] requesters = {3};
    KillGuards guards = KillGuards.of(excluded, requesters, "db", true);
    excluded[0] = 99;
    requesters[0] = 99;
    guards.excludedPids()[1] = 98;
    KillGuards more = guards.excluding(7);
    assertThat(guards.excludedPids()).containsExactly(1, 2);
    assertThat(guards.requesterPids()).containsExactly(3);
    assertThat(more.excludedPids()).containsExactly(1, 2, 7);
    assertThat(more.requesterPids()).containsExactly(3);
    assertThat(more.openDatabase()).isEqualTo("db");
    assertThat(more.needServerSlot()).isTrue();
    assertThat(KillGuards.of(null, null, null, false).excludedPids()).isEmpty();
    assertThat(KillGuards.NONE.excluding(5).excludedPids()).containsExactly(5);
    assertThat(KillGuards.NONE.excludedPids()).isEmpty();
  }

  private static Properties properties(String... keyValues) {
    Properties properties = new Properties();
    for (int i = 0; i < keyValues.length; i += 2) {
      properties.setProperty(keyValues[i], keyValues[i + 1]);
    }
    return properties;
  }

  /** An admin connection as the agent opens it. */
  static Connection admin(Seed seed) throws Exception {
    Connection admin = DriverManager.getConnection(seed.url(),
        AdminLoginProperties.of(null, seed.admin(), seed.adminPassword()));
    admin.setAutoCommit(true);
    return admin;
  }

  /** A session of the role holding {@code tables} temporary tables: its exit drops them all. */
  static Connection slowExiting(Seed seed, int tables) throws Exception {
    Connection session = seed.connectAsRole();
    try (Statement statement = session.createStatement()) {
      for (int done = 0; done < tables; done += 500) {
        statement.execute("do $$ begin for i in " + (done + 1) + ".." + Math.min(tables, done + 500) + " loop"
            + " execute format('create temp table t%s (id int)', i); end loop; end $$");
      }
    }
    return session;
  }

  static int pid(Connection connection) throws Exception {
    try (Statement statement = connection.createStatement();
        ResultSet rows = statement.executeQuery("select pg_backend_pid()")) {
      rows.next();
      return rows.getInt(1);
    }
  }

  /** {state, wait_event} as the admin sees it, or null when the backend is gone. */
  static String[] stateOf(Connection admin, int pid) throws Exception {
    try (PreparedStatement statement = admin.prepareStatement(
        "select state, wait_event from pg_catalog.pg_stat_activity where pid = ?")) {
      statement.setInt(1, pid);
      try (ResultSet rows = statement.executeQuery()) {
        return rows.next() ? new String[] {rows.getString(1), rows.getString(2)} : null;
      }
    }
  }

  /** Polls (bounded, 60 s) until the backend left pg_stat_activity; returns System.nanoTime() then. */
  static long awaitGone(Connection admin, int pid) throws Exception {
    long until = System.nanoTime() + 60_000_000_000L;
    while (VictimQuery.stillThere(admin, pid)) {
      if (System.nanoTime() > until) {
        throw new AssertionError("pid " + pid + " still there after 60 s");
      }
      Thread.sleep(5);
    }
    return System.nanoTime();
  }
}
