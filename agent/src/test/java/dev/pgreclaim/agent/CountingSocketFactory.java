package dev.pgreclaim.agent;

import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.SocketFactory;

/**
 * A pgjdbc {@code socketFactory} for tests that need the N-th connection of one scenario to fail in a chosen way:
 * {@code socketFactoryArg} is {@code <scenario>:<n>:<how>}, how = {@code io} (an IOException: pgjdbc reports 08001)
 * or {@code error} (an Error, which pgjdbc does not wrap). Every other connection is a plain socket.
 */
public final class CountingSocketFactory extends SocketFactory {
  private static final Map<String, AtomicInteger> COUNTS = new ConcurrentHashMap<>();

  private final String scenario;
  private final int failAt;
  private final String how;

  public CountingSocketFactory(String arg) {
    String[] parts = arg.split(":");
    this.scenario = parts[0];
    this.failAt = Integer.parseInt(parts[1]);
    this.how = parts[2];
  }

  /** Sockets created so far in a scenario. */
  public static int created(String scenario) {
    AtomicInteger count = COUNTS.get(scenario);
    return count == null ? 0 : count.get();
  }

  @Override
  public Socket createSocket() throws IOException {
    int n = COUNTS.computeIfAbsent(scenario, key -> new AtomicInteger()).incrementAndGet();
    if (n == failAt) {
      if (how.equals("error")) {
        throw new InjectedError("socket " + n + " of " + scenario);
      }
      throw new IOException("injected: socket " + n + " of " + scenario);
    }
    return new Socket();
  }

  @Override
  public Socket createSocket(String host, int port) throws IOException {
    throw new UnsupportedOperationException();
  }

  @Override
  public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
    throw new UnsupportedOperationException();
  }

  @Override
  public Socket createSocket(InetAddress host, int port) throws IOException {
    throw new UnsupportedOperationException();
  }

  @Override
  public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort)
      throws IOException {
    throw new UnsupportedOperationException();
  }

  /** The Error a retry throws in the tests. */
  public static final class InjectedError extends Error {
    InjectedError(String message) {
      super(message);
    }
  }
}
