package dev.pgreclaim.reclaim;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class ConnectTargetTest {

  private static Properties props(String... keyValues) {
    Properties p = new Properties();
    for (int i = 0; i < keyValues.length; i += 2) {
      p.setProperty(keyValues[i], keyValues[i + 1]);
    }
    return p;
  }

  /**
   * URL forms pgjdbc 42.7 accepts or refuses: url, properties, the server key and database expected (null key:
   * pgjdbc refuses the URL, so the agent must too).
   */
  static Stream<Arguments> urlForms() {
    return Stream.of(
        Arguments.of("jdbc:postgresql://db.example:6432/some_db?user=u", props(), "db.example:6432", "some_db"),
        Arguments.of("jdbc:postgresql://db.example/some_db?user=u", props(), "db.example:5432", "some_db"),
        Arguments.of("jdbc:postgresql:mydb?user=u", props(), "localhost:5432", "mydb"),
        Arguments.of("jdbc:postgresql:/?user=u", props(), null, null),
        Arguments.of("jdbc:postgresql://h/?user=u", props(), "h:5432", "u"),
        Arguments.of("jdbc:postgresql://h/", props("user", "u", "PGDBNAME", "pdb"), "h:5432", "pdb"),
        Arguments.of("jdbc:postgresql://", props("user", "u"), "localhost:5432", "u"),
        Arguments.of("jdbc:postgresql:///?user=u&host=h2&port=6000&dbname=d2", props(), "h2:6000", "d2"),
        // URL parameters win over the authority (pgjdbc 42.3.2+ reads host/port/dbname in any case as PG*)
        Arguments.of("jdbc:postgresql://h1:5000/d1?user=u&HOST=h2&Port=6000&DBNAME=d2", props(), "h2:6000", "d2"),
        Arguments.of("jdbc:postgresql://h1/d1?user=u&PGDBNAME=d2", props(), "h1:5432", "d2"),
        Arguments.of("jdbc:postgresql:d1", props("user", "u", "PGHOST", "h3", "PGPORT", "7000"), "h3:7000", "d1"),
        Arguments.of("jdbc:postgresql://h1/d1", props("user", "u", "PGHOST", "h3", "PGPORT", "7000"), "h1:5432",
            "d1"),
        Arguments.of("jdbc:postgresql:", props("user", "u", "PGHOST", "::1"), "[::1]:5432", "u"),
        Arguments.of("jdbc:postgresql://[::1]:5433/d?user=u", props(), "[::1]:5433", "d"),
        Arguments.of("jdbc:postgresql://[::1]/d?user=u", props(), "[::1]:5432", "d"),
        Arguments.of("jdbc:postgresql://h1:5000,h2,[::1]:5002/d?user=u&targetServerType=primary", props(),
            "h1:5000,h2:5432,[::1]:5002", "d"),
        Arguments.of("jdbc:postgresql://:5000/d?user=u", props(), "localhost:5000", "d"),
        Arguments.of("jdbc:postgresql://h/my%20db%C3%A9?user=a%2Bb", props(), "h:5432", "my dbé"),
        Arguments.of("jdbc:postgresql://h/my+db?user=u", props(), "h:5432", "my db"),
        Arguments.of("jdbc:postgresql://h/d?user=u&socketFactory=org.example.UnixSockets"
            + "&socketFactoryArg=%2Fvar%2Frun%2Fpostgresql%2F.s.PGSQL.5432", props(), "h:5432", "d"),
        Arguments.of("jdbc:postgresql://h/d?user=%zz", props(), null, null),
        Arguments.of("jdbc:postgresql://h/a/b?user=u", props(), null, null),
        Arguments.of("jdbc:postgresql://h?user=u", props(), null, null),
        Arguments.of("jdbc:postgresql://h:abc/d?user=u", props(), null, null),
        Arguments.of("jdbc:postgresql://h/d?user=u&port=1,2", props(), null, null),
        Arguments.of("jdbc:postgresql://h/d?user=u&service=pgreclaim_no_such_service", props(), null, null),
        Arguments.of("jdbc:mysql://h/d?user=u", props(), null, null));
  }

  @ParameterizedTest
  @MethodSource("urlForms")
  void agreesWithPgjdbcOnWhereTheOpenGoes(String url, Properties info, String serverKey, String database) {
    org.postgresql.Driver pgjdbc = new org.postgresql.Driver();
    // The table says what pgjdbc says ...
    PgjdbcAnswer pgjdbcAnswer = PgjdbcAnswer.of(url, info, pgjdbc);
    if (serverKey == null) {
      assertThat(pgjdbcAnswer).isNull();
    } else {
      assertThat(pgjdbcAnswer.serverKey()).isEqualTo(serverKey);
      assertThat(pgjdbcAnswer.database()).isEqualTo(database);
    }
    // ... and so does the agent, through pgjdbc's parser and through its own (a driver without parseURL).
    for (ConnectTarget target : new ConnectTarget[] {ConnectTarget.parse(url, info, pgjdbc),
        ConnectTarget.parse(url, info, new Object()), ConnectTarget.parse(url, info)}) {
      if (serverKey == null) {
        assertThat(target).isNull();
      } else {
        assertThat(target).isNotNull();
        assertThat(target.serverKey()).isEqualTo(serverKey);
        assertThat(target.hosts()).containsExactly(serverKey.split(","));
        assertThat(target.database()).isEqualTo(database);
        assertThat(target.user()).isEqualTo(pgjdbcAnswer.user());
        // Read back by pgjdbc, the admin URL goes to the same servers and database.
        assertThat(PgjdbcAnswer.of(target.derivedAdminUrl(), props("user", "admin"), pgjdbc))
            .isEqualTo(new PgjdbcAnswer(serverKey, database, "admin"));
        assertThat(PgjdbcAnswer.of(target.derivedAdminUrl("postgres"), props("user", "admin"), pgjdbc))
            .isEqualTo(new PgjdbcAnswer(serverKey, "postgres", "admin"));
      }
    }
  }

  /** The same table against pgjdbc 42.2 and 42.5 loaded apart from the agent: the agent follows each one's answer. */
  @ParameterizedTest
  @ValueSource(strings = {"postgresql-42.2.jar", "postgresql-42.5.jar", "postgresql-42.7.jar"})
  void followsTheApplicationsOwnDriverVersion(String jar) throws Exception {
    Path path = Path.of(System.getProperty("pgreclaim.test.appLibs", "target/app-libs"), jar);
    assertThat(path).exists();
    try (URLClassLoader loader = new URLClassLoader(new URL[] {path.toUri().toURL()},
        ClassLoader.getPlatformClassLoader())) {
      Object driver = Class.forName("org.postgresql.Driver", true, loader).getDeclaredConstructor().newInstance();
      int compared = 0;
      List<String> disagreements = new ArrayList<>();
      for (Arguments row : urlForms().toList()) {
        String url = (String) row.get()[0];
        Properties info = (Properties) row.get()[1];
        PgjdbcAnswer expected = PgjdbcAnswer.of(url, info, driver);
        ConnectTarget target = ConnectTarget.parse(url, info, driver);
        PgjdbcAnswer actual = target == null ? null
            : new PgjdbcAnswer(target.serverKey(), target.database(), target.user());
        if (expected == null ? actual != null : !expected.equals(actual)) {
          disagreements.add(jar + " " + url + " " + info + ": pgjdbc " + expected + ", agent " + actual);
        }
        compared++;
      }
      assertThat(disagreements).isEmpty();
      assertThat(compared).isEqualTo(urlForms().count());
    }
  }

  /** What a pgjdbc version's own {@code parseURL} says, read the way its {@code connect} reads it. */
  record PgjdbcAnswer(String serverKey, String database, String user) {
    static PgjdbcAnswer of(String url, Properties info, Object driver) {
      Properties resolved;
      try {
        Method parseUrl = driver.getClass().getMethod("parseURL", String.class, Properties.class);
        Properties copy = new Properties();
        copy.putAll(info);
        resolved = (Properties) parseUrl.invoke(null, url, copy);
      } catch (ReflectiveOperationException rejected) {
        return null; // 42.2 throws on a bad %-escape
      }
      if (resolved == null) {
        return null;
      }
      String[] hosts = resolved.getProperty("PGHOST").split(",", -1);
      String[] ports = resolved.getProperty("PGPORT").split(",", -1);
      if (hosts.length != ports.length) {
        return null;
      }
      List<String> key = new ArrayList<>();
      for (int i = 0; i < hosts.length; i++) {
        int port;
        try {
          port = Integer.parseInt(ports[i]);
        } catch (NumberFormatException e) {
          return null;
        }
        // 42.2 leaves an empty host where 42.7 writes localhost; the JDK resolves "" to the loopback address.
        String host = hosts[i].isEmpty() ? "localhost" : hosts[i];
        host = host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host;
        key.add(host + ":" + port);
      }
      String user = resolved.getProperty("user");
      String database = resolved.getProperty("PGDBNAME");
      return new PgjdbcAnswer(String.join(",", key), database == null || database.isEmpty() ? user : database,
          user);
    }
  }

  @Test
  void readsHostDatabaseAndUserWithUrlParametersWinning() {
    Properties info = new Properties();
    info.setProperty("user", "from_props");
    info.setProperty("password", "secret");
    info.setProperty("sslmode", "require");
    ConnectTarget target = ConnectTarget.parse(
        "jdbc:postgresql://db.example:6432/some_db?user=some_user&password=pw&ApplicationName=app&tcpKeepAlive=true",
        info, new org.postgresql.Driver());
    assertThat(target.user()).isEqualTo("some_user");
    assertThat(target.database()).isEqualTo("some_db");
    assertThat(target.hosts()).containsExactly("db.example:6432");
    assertThat(target.describe()).isEqualTo("db.example:6432/some_db");
    // Credentials and caller-only parameters never reach the admin URL or its properties.
    assertThat(target.derivedAdminUrl()).isEqualTo("jdbc:postgresql://db.example:6432/some_db?tcpKeepAlive=true");
    assertThat(target.adminBaseProperties()).containsOnlyKeys("sslmode");
  }

  @Test
  void theServerAndDatabaseGoIntoTheAdminUrlItselfNotItsParameters() {
    ConnectTarget target = ConnectTarget.parse("jdbc:postgresql://h1:5000/d1?user=u&host=h2&PGPORT=6000&dbname=d2"
        + "&sslmode=require", props("PGHOST", "h9", "PGDBNAME", "d9", "sslrootcert", "/ca.pem"),
        new org.postgresql.Driver());
    assertThat(target.derivedAdminUrl("postgres")).isEqualTo("jdbc:postgresql://h2:6000/postgres?sslmode=require");
    assertThat(target.adminBaseProperties()).containsOnlyKeys("sslrootcert");
  }

  /**
   * Issue 11 point 10: the target keeps none of the caller's secrets the admin does not need. {@code sslpassword}
   * only decrypts a client key; it is kept (as a property, never in the admin URL) only with an {@code sslkey}.
   */
  @Test
  void keepsNoSecretTheAdminDoesNotNeed() {
    org.postgresql.Driver pgjdbc = new org.postgresql.Driver();
    ConnectTarget noKey = ConnectTarget.parse(
        "jdbc:postgresql://h/d?user=u&password=pw1&sslpassword=kp1&SSLPASSWORD=kp9",
        props("password", "pw2", "sslpassword", "kp2", "sslmode", "require"), pgjdbc);
    assertThat(noKey.derivedAdminUrl()).isEqualTo("jdbc:postgresql://h:5432/d");
    assertThat(noKey.adminBaseProperties()).containsOnlyKeys("sslmode");

    ConnectTarget withKey = ConnectTarget.parse("jdbc:postgresql://h/d?user=u&sslpassword=kp1&sslkey=%2Fk.pk8",
        props("password", "pw2", "sslpassword", "kp2"), pgjdbc);
    assertThat(withKey.derivedAdminUrl()).isEqualTo("jdbc:postgresql://h:5432/d?sslkey=%2Fk.pk8");
    // The URL's value wins, as in pgjdbc.
    assertThat(withKey.adminBaseProperties()).containsOnlyKeys("sslpassword").containsEntry("sslpassword", "kp1");

    ConnectTarget keyInProperties = ConnectTarget.parse("jdbc:postgresql://h/d?user=u",
        props("password", "pw2", "sslpassword", "kp2", "sslkey", "/k.pk8"), pgjdbc);
    assertThat(keyInProperties.adminBaseProperties()).containsOnlyKeys("sslpassword", "sslkey");
  }

  @Test
  void aPasswordPgjdbcReadsFromPgpassIsNotKept(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
    Path pgpass = Files.writeString(dir.resolve("pgpass"), "*:*:*:*:from_pgpass\n");
    String before = System.getProperty("org.postgresql.pgpassfile");
    System.setProperty("org.postgresql.pgpassfile", pgpass.toString());
    try {
      org.postgresql.Driver pgjdbc = new org.postgresql.Driver();
      // pgjdbc itself adds the password ...
      assertThat(org.postgresql.Driver.parseURL("jdbc:postgresql://h/d?user=u", new Properties())
          .getProperty("password")).isEqualTo("from_pgpass");
      // ... which the target does not keep.
      ConnectTarget target = ConnectTarget.parse("jdbc:postgresql://h/d?user=u", new Properties(), pgjdbc);
      assertThat(target.adminBaseProperties()).isEmpty();
      assertThat(target.derivedAdminUrl()).doesNotContain("from_pgpass");
    } finally {
      if (before == null) {
        System.clearProperty("org.postgresql.pgpassfile");
      } else {
        System.setProperty("org.postgresql.pgpassfile", before);
      }
    }
  }

  /** {@code ?service=}: only pgjdbc reads pg_service.conf; the agent follows its answer (and without it, passes). */
  @Test
  void aServiceNamedInTheUrlIsResolvedByPgjdbc(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
    Path services = Files.writeString(dir.resolve("pg_service.conf"),
        "[pgr_svc]\nhost=svc-host\nport=6543\ndbname=svc_db\nuser=svc_user\nsslmode=disable\n");
    String before = System.getProperty("org.postgresql.pgservicefile");
    System.setProperty("org.postgresql.pgservicefile", services.toString());
    try {
      org.postgresql.Driver pgjdbc = new org.postgresql.Driver();
      String url = "jdbc:postgresql://?service=pgr_svc";
      ConnectTarget target = ConnectTarget.parse(url, new Properties(), pgjdbc);
      assertThat(PgjdbcAnswer.of(url, new Properties(), pgjdbc))
          .isEqualTo(new PgjdbcAnswer("svc-host:6543", "svc_db", "svc_user"));
      assertThat(new PgjdbcAnswer(target.serverKey(), target.database(), target.user()))
          .isEqualTo(new PgjdbcAnswer("svc-host:6543", "svc_db", "svc_user"));
      assertThat(PgjdbcAnswer.of(target.derivedAdminUrl("postgres"), props("user", "admin"), pgjdbc))
          .isEqualTo(new PgjdbcAnswer("svc-host:6543", "postgres", "admin"));
      assertThat(ConnectTarget.parse(url, new Properties(), new Object())).isNull();
    } finally {
      if (before == null) {
        System.clearProperty("org.postgresql.pgservicefile");
      } else {
        System.setProperty("org.postgresql.pgservicefile", before);
      }
    }
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
    assertThat(ConnectTarget.parse("jdbc:postgresql://localhost/db", null, new org.postgresql.Driver()).user())
        .isNull();
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
    assertThat(ConnectTarget.parse("jdbc:postgresql://h/db?user=u", props("loginTimeout", "1.5"),
        new org.postgresql.Driver()).loginTimeoutSeconds()).isEqualTo(1.5);
  }

  @Test
  void shortFormAndForeignUrls() {
    ConnectTarget target = ConnectTarget.parse("jdbc:postgresql:mydb?user=u", null);
    assertThat(target.database()).isEqualTo("mydb");
    assertThat(target.derivedAdminUrl()).isEqualTo("jdbc:postgresql://localhost:5432/mydb");
    assertThat(ConnectTarget.parse("jdbc:mysql://h/db", null)).isNull();
    assertThat(ConnectTarget.parse("jdbc:postgresql://h/db?user=%zz", null)).isNull();
    assertThat(ConnectTarget.parse(null, null, new org.postgresql.Driver())).isNull();
  }
}
