package dev.pgreclaim.reclaim;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgreclaim.policy.LimitKind;
import java.sql.SQLException;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;
import org.postgresql.util.PSQLException;
import org.postgresql.util.ServerErrorMessage;

/** Classification of refusals, on real pgjdbc exception objects built from server error fields. */
class RefusalTest {

  static PSQLException serverError(String sqlState, String routine, String message) {
    String fields = "SFATAL\0C" + sqlState + "\0M" + message + "\0" + (routine == null ? "" : "R" + routine + "\0");
    return new PSQLException(new ServerErrorMessage(fields));
  }

  @ParameterizedTest
  @CsvSource({
      "InitializeSessionUserId, ROLE",
      "CheckMyDatabase, DATABASE",
      "InitPostgres, RESERVED",
      "InitProcess, SERVER",
      "ProcessStartupPacket, SERVER",
      "BackendInitialize, SERVER",
      "SomethingNew, UNKNOWN"})
  void classifiesByRoutineNotByMessage(String routine, LimitKind expected) {
    // The message is deliberately translated: classification must not depend on it.
    Refusal refusal = Refusal.classify(serverError("53300", routine, "zu viele Verbindungen für Rolle »x«"));
    assertThat(refusal).isNotNull();
    assertThat(refusal.kind()).isEqualTo(expected);
    assertThat(refusal.routine()).isEqualTo(routine);
  }

  @Test
  void a53300WithoutRoutineIsUnknownAndNeverActedOn() {
    Refusal refusal = Refusal.classify(serverError("53300", null, "too many connections for role \"x\""));
    assertThat(refusal.kind()).isEqualTo(LimitKind.UNKNOWN);
  }

  @Test
  void otherSqlStatesAreNotRefusals() {
    assertThat(Refusal.classify(serverError("28P01", "auth_failed", "password authentication failed"))).isNull();
    assertThat(Refusal.classify(new SQLException("connection refused", "08001"))).isNull();
    assertThat(Refusal.classify(new RuntimeException("boom"))).isNull();
    assertThat(Refusal.classify((Throwable) null)).isNull();
  }

  @Test
  void findsTheRefusalOneCauseDeep() {
    PSQLException refused = serverError("53300", "InitializeSessionUserId", "too many connections");
    Refusal refusal = Refusal.classify(new SQLException("wrapped", "08001", refused));
    assertThat((Object) refusal.exception()).isSameAs(refused);
    assertThat(refusal.describe()).isEqualTo("role limit (53300 InitializeSessionUserId)");
  }

  @Test
  void aNonPgjdbc53300IsClassifiedWithoutRoutine() {
    Refusal refusal = Refusal.classify(new SQLException("too many", "53300"));
    assertThat(refusal.kind()).isEqualTo(LimitKind.UNKNOWN);
  }
}
