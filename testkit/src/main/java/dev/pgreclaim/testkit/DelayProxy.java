package dev.pgreclaim.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP proxy on loopback in front of a test server, for a slow login path: each accepted connection waits
 * {@code delayMillis} before it is connected through, and connections after the first {@code passThrough} ones are
 * held open and never answered (a login that hangs). Bounded by its own life: {@link #close()} ends everything.
 */
public final class DelayProxy implements AutoCloseable {
  private final ServerSocket listener;
  private final String targetHost;
  private final int targetPort;
  private final long delayMillis;
  private final int passThrough;
  private final AtomicInteger accepted = new AtomicInteger();
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();
  private final Thread acceptor;

  public DelayProxy(String targetHost, int targetPort, long delayMillis, int passThrough) throws IOException {
    this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    this.targetHost = targetHost;
    this.targetPort = targetPort;
    this.delayMillis = delayMillis;
    this.passThrough = passThrough;
    this.acceptor = new Thread(this::acceptLoop, "delay-proxy");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  public int port() {
    return listener.getLocalPort();
  }

  /** Connections accepted so far. */
  public int accepted() {
    return accepted.get();
  }

  private void acceptLoop() {
    while (!listener.isClosed()) {
      try {
        Socket client = listener.accept();
        sockets.add(client);
        int n = accepted.incrementAndGet();
        Thread relay = new Thread(() -> relay(client, n), "delay-proxy-" + n);
        relay.setDaemon(true);
        relay.start();
      } catch (IOException closed) {
        return;
      }
    }
  }

  private void relay(Socket client, int n) {
    try {
      Thread.sleep(delayMillis);
      if (n > passThrough) {
        return; // held open, never answered: the socket is closed by close()
      }
      Socket server = new Socket(targetHost, targetPort);
      sockets.add(server);
      pump(client.getInputStream(), server.getOutputStream(), "up-" + n);
      pump(server.getInputStream(), client.getOutputStream(), "down-" + n);
    } catch (IOException | InterruptedException ended) {
      closeQuietly(client);
    }
  }

  private void pump(InputStream in, OutputStream out, String name) {
    Thread pump = new Thread(() -> {
      byte[] buffer = new byte[8192];
      try {
        for (int read; (read = in.read(buffer)) >= 0;) {
          out.write(buffer, 0, read);
          out.flush();
        }
      } catch (IOException ended) {
        // either side closed
      } finally {
        closeQuietly(in);
        closeQuietly(out);
      }
    }, "delay-proxy-" + name);
    pump.setDaemon(true);
    pump.start();
  }

  private static void closeQuietly(AutoCloseable closeable) {
    try {
      closeable.close();
    } catch (Exception ignored) {
      // closing anyway
    }
  }

  @Override
  public void close() {
    closeQuietly(listener);
    for (Socket socket : sockets) {
      closeQuietly(socket);
    }
  }
}
