package dev.pgreclaim.cli;

import static dev.pgreclaim.policy.AdminUrlCheckTest.SECRET;
import static org.assertj.core.api.Assertions.assertThat;

import java.sql.SQLException;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Driver messages that repeat a URL never reach the operator verbatim through the CLI's login errors. */
class AdminLoginExplainTest {

  @ParameterizedTest
  @MethodSource("dev.pgreclaim.policy.AdminUrlCheckTest#secretForms")
  void aDriverMessageRepeatingTheUrlIsScrubbed(String url) {
    for (String state : new String[] {null, "08001", "3D000", "28P01", "53300", "XX000"}) {
      SQLException failure = new SQLException("Unable to parse URL " + url, state);
      CliException explained = AdminLogin.explain(failure, url, "pgr_admin", true);
      assertThat(explained.getMessage()).as(state + " " + url).doesNotContain(SECRET);
    }
  }
}
