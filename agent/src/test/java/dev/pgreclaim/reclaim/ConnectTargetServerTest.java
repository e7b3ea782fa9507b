package dev.pgreclaim.reclaim;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgreclaim.testkit.PostgresServer;
import dev.pgreclaim.testkit.PostgresServers;
import dev.pgreclaim.testkit.PostgresTest;
import dev.pgreclaim.testkit.TestDatabase;
import dev.pgreclaim.testkit.TestDatabase.Seed;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import javax.net.SocketFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 11 point 10 on a real server: for each URL form that reaches the server, the admin URL and properties the
 * agent derives log in to the server and database the application's own open reached.
 */
@PostgresTest
@Timeout(120)
class ConnectTargetServerTest {

  /** Where a session landed, as the server says. */
  record Landed(String database, String address, int port) {}

  private static Landed landed(Connection connection) throws SQLException {
    try (Statement st = connection.createStatement();
        ResultSet rs = st.executeQuery("select current_database(), host(inet_server_addr()), inet_server_port()")) {
      rs.next();
      return new Landed(rs.getString(1), rs.getString(2), rs.getInt(3));
    }
  }

  private static Properties props(String... keyValues) {
    Properties p = new Properties();
    for (int i = 0; i < keyValues.length; i += 2) {
      p.setProperty(keyValues[i], keyValues[i + 1]);
    }
    return p;
  }

  /**
   * Opens {@code url} as the application role, then the derived admin URL (same database, then {@code postgres}) as
   * the admin role with only what {@link ConnectTarget#adminBaseProperties()} keeps; returns where the app landed.
   */
  private static Landed appAndAdminLandTogether(Seed seed, String url, Properties info) throws SQLException {
    org.postgresql.Driver driver = new org.postgresql.Driver();
    Properties app = new Properties();
    app.putAll(info);
    app.setProperty("password", seed.rolePassword());
    app.setProperty("connectTimeout", "10");
    Landed appLanded;
    try (Connection c = driver.connect(url, app)) {
      appLanded = landed(c);
    }
    ConnectTarget target = ConnectTarget.parse(url, app, driver);
    assertThat(target).as(url).isNotNull();
    assertThat(target.database()).as(url).isEqualTo(appLanded.database());
    assertThat(target.adminBaseProperties()).as(url).doesNotContainKey("password");
    for (String adminDb : new String[] {null, "postgres"}) {
      String adminUrl = adminDb == null ? target.derivedAdminUrl() : target.derivedAdminUrl(adminDb);
      Properties admin = target.adminBaseProperties();
      admin.setProperty("user", seed.admin());
      admin.setProperty("password", seed.adminPassword());
      admin.setProperty("connectTimeout", "10");
      try (Connection c = driver.connect(adminUrl, admin)) {
        assertThat(landed(c)).as(url + " -> " + adminUrl).isEqualTo(new Landed(
            adminDb == null ? appLanded.database() : adminDb, appLanded.address(), appLanded.port()));
      }
    }
    return appLanded;
  }

  @Test
  void everyFormThatReachesTheServerGivesAnAdminUrlToTheSameServerAndDatabase(PostgresServer server)
      throws Exception {
    try (Seed seed = TestDatabase.seed(server, -1)) {
      String h = server.host();
      int p = server.port();
      String db = seed.database();
      String role = seed.role();
      String odd = db + " é+%";
      String oddEncoded = java.net.URLEncoder.encode(odd, StandardCharsets.UTF_8).replace("+", "%20");
      server.execute("postgres", "create database \"" + odd + "\" owner " + role);
      try {
        List<Object[]> forms = new ArrayList<>();
        forms.add(new Object[] {"jdbc:postgresql://" + h + ":" + p + "/" + db, props("user", role)});
        forms.add(new Object[] {"jdbc:postgresql://" + h + ":" + p + "/?user=" + role + "&PGDBNAME=" + db, props()});
        forms.add(new Object[] {"jdbc:postgresql://" + h + ":" + p + "/", props("user", role, "PGDBNAME", db)});
        forms.add(new Object[] {"jdbc:postgresql:" + db, props("user", role, "PGHOST", h, "PGPORT", "" + p)});
        forms.add(new Object[] {"jdbc:postgresql:///?host=" + h + "&port=" + p + "&dbname=" + db,
            props("user", role)});
        // The parameters win over the authority: the old parser sent the admin to localhost:1/postgres.
        forms.add(new Object[] {"jdbc:postgresql://localhost:1/postgres?host=" + h + "&port=" + p + "&dbname=" + db,
            props("user", role)});
        // Nothing listens on port 1: pgjdbc moves on to the second host.
        forms.add(new Object[] {"jdbc:postgresql://" + h + ":1," + h + ":" + p + "/" + db, props("user", role)});
        forms.add(new Object[] {"jdbc:postgresql://" + h + ":" + p + "/" + oddEncoded, props("user", role)});
        // A socket factory decides where the bytes go (as a unix-socket factory does): the host in the URL is
        // never connected to, so the admin session must use the same factory and argument.
        String redirected = "jdbc:postgresql://127.0.0.2:9/" + db + "?socketFactory="
            + RedirectingSocketFactory.class.getName() + "&socketFactoryArg=" + h + ":" + p;
        forms.add(new Object[] {redirected, props("user", role)});
        forms.add(new Object[] {"jdbc:postgresql://127.0.0.2:9/" + db, props("user", role,
            "socketFactory", RedirectingSocketFactory.class.getName(), "socketFactoryArg", h + ":" + p)});
        List<String> databases = new ArrayList<>();
        for (Object[] form : forms) {
          Landed appLanded = appAndAdminLandTogether(seed, (String) form[0], (Properties) form[1]);
          assertThat(appLanded.port()).isEqualTo(p);
          databases.add(appLanded.database());
        }
        assertThat(databases).containsOnly(db, odd).contains(odd);
      } finally {
        server.execute("postgres", "drop database if exists \"" + odd + "\" with (force)");
      }
    }
  }

  /** An IPv6 literal, on a private server that also listens on {@code ::1}. */
  @Test
  void anIpv6LiteralReachesTheSameServer() throws Exception {
    assertThat(InetAddress.getByName("::1").isLoopbackAddress()).isTrue();
    try (PostgresServer server = PostgresServers.startPrivate(Map.of("listen_addresses", "127.0.0.1,::1"));
        Seed seed = TestDatabase.seed(server, -1)) {
      String url = "jdbc:postgresql://[::1]:" + server.port() + "/" + seed.database();
      Landed landed = appAndAdminLandTogether(seed, url, props("user", seed.role()));
      assertThat(landed.address()).isEqualTo("::1");
      assertThat(ConnectTarget.parse(url, props("user", seed.role()), new org.postgresql.Driver()).serverKey())
          .isEqualTo("[::1]:" + server.port());
      // Given as PGHOST without brackets, as a property.
      landed = appAndAdminLandTogether(seed, "jdbc:postgresql:" + seed.database(),
          props("user", seed.role(), "PGHOST", "::1", "PGPORT", "" + server.port()));
      assertThat(landed.address()).isEqualTo("::1");
    }
  }

  /** Connects every socket to the {@code host:port} of its argument, whatever address pgjdbc asks for. */
  public static final class RedirectingSocketFactory extends SocketFactory {
    private final InetSocketAddress target;

    public RedirectingSocketFactory(String hostAndPort) {
      int colon = hostAndPort.lastIndexOf(':');
      this.target = new InetSocketAddress(hostAndPort.substring(0, colon),
          Integer.parseInt(hostAndPort.substring(colon + 1)));
    }

    @Override
    public Socket createSocket() {
      return new Socket() {
        @Override
        public void connect(SocketAddress ignored, int timeout) throws IOException {
          super.connect(target, timeout);
        }
      };
    }

    @Override
    public Socket createSocket(String host, int port) throws IOException {
      Socket socket = createSocket();
      socket.connect(null, 0);
      return socket;
    }

    @Override
    public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
      return createSocket(host, port);
    }

    @Override
    public Socket createSocket(InetAddress host, int port) throws IOException {
      return createSocket("", port);
    }

    @Override
    public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort)
        throws IOException {
      return createSocket("", port);
    }
  }
}
