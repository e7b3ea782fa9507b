package dev.pgreclaim.testkit;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.PostgreSQLContainer;

/** Testcontainers postgres:15. Restart is not offered (the mapped port would change). Not exercised without Docker. */
final class ContainerServer implements PostgresServer {
  private final PostgreSQLContainer<?> container;
  private boolean closed;

  private ContainerServer(PostgreSQLContainer<?> container) {
    this.container = container;
  }

  static boolean dockerAvailable() {
    return DockerClientFactory.instance().isDockerAvailable();
  }

  @SuppressWarnings("resource")
  static ContainerServer start(Map<String, String> settings) {
    List<String> cmd = new ArrayList<>(List.of("postgres", "-c", "fsync=off", "-c", "synchronous_commit=off",
        "-c", "full_page_writes=off", "-c", "max_connections=100", "-c", "superuser_reserved_connections=3"));
    settings.forEach((k, v) -> {
      cmd.add("-c");
      cmd.add(k + "=" + v);
    });
    PostgreSQLContainer<?> c = new PostgreSQLContainer<>("postgres:15")
        .withUsername("postgres")
        .withPassword(Env.randomAlnum(24))
        .withDatabaseName("postgres")
        .withCommand(cmd.toArray(new String[0]));
    c.start();
    return new ContainerServer(c);
  }

  @Override
  public String kind() {
    return "testcontainers";
  }

  @Override
  public String host() {
    return container.getHost();
  }

  @Override
  public int port() {
    return container.getMappedPort(PostgreSQLContainer.POSTGRESQL_PORT);
  }

  @Override
  public String superuser() {
    return container.getUsername();
  }

  @Override
  public String superuserPassword() {
    return container.getPassword();
  }

  @Override
  public boolean canRestart() {
    return false;
  }

  @Override
  public void restart() {
    throw new UnsupportedOperationException("restarting a container changes its mapped port");
  }

  @Override
  public synchronized void close() {
    if (!closed) {
      closed = true;
      container.stop();
    }
  }

  @Override
  public String toString() {
    return "testcontainers postgres:15 on " + host() + ":" + port();
  }
}
