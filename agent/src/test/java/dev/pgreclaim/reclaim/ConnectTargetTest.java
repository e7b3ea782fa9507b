package dev.pgreclaim.reclaim;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Properties;
import org.junit.jupiter.api.Test;

class ConnectTargetTest {

  @Test
  void readsHostDatabaseAndUserWithUrlParametersWinning() {
    Properties info = new Properties();
    info.setProperty("user", "from_props");
    info.setProperty("password", "secret");
    info.setProperty("sslmode", "require");
    ConnectTarget target = ConnectTarget.parse(
        "jdbc:postgresql://db.example:6432/some_db?user=some_user&password=pw&ApplicationName=app&tcpKeepAlive=true",
        info);
    assertThat(target.user()).isEqualTo("some_user");
    assertThat(target.database()).isEqualTo("some_db");
    assertThat(target.hosts()).containsExactly("db.example:6432");
    assertThat(target.describe()).isEqualTo("db.example:6432/some_db");
    // Credentials and caller-only parameters never reach the admin URL or its properties.
    assertThat(target.derivedAdminUrl()).isEqualTo("jdbc:postgresql://db.example:6432/some_db?tcpKeepAlive=true");
    assertThat(target.adminBaseProperties()).containsOnlyKeys("sslmode");
  }

  @Test
  void userFromPropertiesWhenTheUrlHasNone() {
    Properties info = new Properties();
    info.setProperty("user", "app");
    ConnectTarget target = ConnectTarget.parse("jdbc:postgresql://localhost/app_db", info);
    assertThat(target.user()).isEqualTo("app");
    assertThat(target.isMultiHost()).isFalse();
  }

  @Test
  void noUserMeansTheAgentCannotTellTheRole() {
    assertThat(ConnectTarget.parse("jdbc:postgresql://localhost/db", new Properties()).user()).isNull();
  }

  @Test
  void multiHostUrlsAreRecognised() {
    ConnectTarget target = ConnectTarget.parse("jdbc:postgresql://h1:5432,h2:5433/db?user=u", null);
    assertThat(target.isMultiHost()).isTrue();
    assertThat(target.describe()).isEqualTo("h1:5432(+1 hosts)/db");
  }

  @Test
  void loginTimeoutIsReadInSeconds() {
    assertThat(ConnectTarget.parse("jdbc:postgresql://h/db?user=u&loginTimeout=2.5", null).loginTimeoutSeconds())
        .isEqualTo(2.5);
  }

  @Test
  void shortFormAndForeignUrls() {
    ConnectTarget target = ConnectTarget.parse("jdbc:postgresql:mydb?user=u", null);
    assertThat(target.database()).isEqualTo("mydb");
    assertThat(target.derivedAdminUrl()).isEqualTo("jdbc:postgresql:mydb");
    assertThat(ConnectTarget.parse("jdbc:mysql://h/db", null)).isNull();
    assertThat(ConnectTarget.parse("jdbc:postgresql://h/db?user=%zz", null)).isNull();
  }
}
