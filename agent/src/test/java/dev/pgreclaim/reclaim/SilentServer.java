package dev.pgreclaim.reclaim;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** A TCP port that accepts connections and never answers the start-up packet: an admin server that hangs. */
final class SilentServer implements AutoCloseable {
  private final ServerSocket socket;
  private final List<Socket> accepted = new CopyOnWriteArrayList<>();

  SilentServer() throws IOException {
    socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread acceptor = new Thread(() -> {
      try {
        while (true) {
          accepted.add(socket.accept());
        }
      } catch (IOException closed) {
        // test over
      }
    }, "silent-admin-server");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  String adminUrl() {
    return "jdbc:postgresql://127.0.0.1:" + socket.getLocalPort() + "/postgres";
  }

  /** How many connections were accepted (the agent really tried). */
  int acceptedCount() {
    return accepted.size();
  }

  @Override
  public void close() throws IOException {
    socket.close();
    for (Socket connection : accepted) {
      connection.close();
    }
  }
}
