package dev.pgreclaim.it;

import dev.pgreclaim.testkit.ForkedJvm;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Timestamps the agent's {@code AUDIT terminated} lines of forked application JVMs as they appear on their standard
 * error (the agent's lines carry no time there: no SLF4J binding in the pool applications), on the scenario's clock.
 */
final class AuditWatch implements AutoCloseable {
  private static final Pattern TERMINATED = Pattern.compile("pg-reclaim AUDIT terminated pid=(\\d+)");
  private static final long POLL_MS = 100;

  /** One termination an agent audited: the terminated pid, which JVM, when it was seen. */
  record Termination(int pid, String service, long atMillis) {}

  private record Watched(String service, ForkedJvm.Handle handle, int[] seen) {}

  private final LongSupplier clock;
  private final List<Watched> watched = new ArrayList<>();
  private final List<Termination> terminations = new ArrayList<>();
  private final Thread thread;
  private volatile boolean stopped;

  AuditWatch(LongSupplier clock) {
    this.clock = clock;
    thread = new Thread(this::poll, "audit-watch");
    thread.setDaemon(true);
    thread.start();
  }

  synchronized void watch(String service, ForkedJvm.Handle handle) {
    watched.add(new Watched(service, handle, new int[1]));
  }

  synchronized List<Termination> terminations() {
    scan();
    return List.copyOf(terminations);
  }

  private void poll() {
    while (!stopped) {
      synchronized (this) {
        scan();
      }
      try {
        Thread.sleep(POLL_MS);
      } catch (InterruptedException interrupted) {
        return;
      }
    }
  }

  /** Complete lines only: a line still being written is picked up on the next poll. */
  private void scan() {
    long at = clock.getAsLong();
    for (Watched jvm : watched) {
      String stderr = jvm.handle().stderr();
      int end = stderr.lastIndexOf('\n') + 1;
      if (end <= jvm.seen()[0]) {
        continue;
      }
      Matcher matcher = TERMINATED.matcher(stderr.substring(jvm.seen()[0], end));
      while (matcher.find()) {
        terminations.add(new Termination(Integer.parseInt(matcher.group(1)), jvm.service(), at));
      }
      jvm.seen()[0] = end;
    }
  }

  @Override
  public void close() throws InterruptedException {
    stopped = true;
    thread.interrupt();
    thread.join(5000);
  }
}
