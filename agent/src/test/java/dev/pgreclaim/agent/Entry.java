package dev.pgreclaim.agent;

import dev.pgreclaim.metrics.ReclaimMetrics;
import dev.pgreclaim.policy.Policy;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Properties;

/**
 * One way an application's open reaches pg-reclaim, in this JVM: the agent's woven pgjdbc ({@link WovenDriver}, or the
 * inert agent of an invalid configuration, {@link ActivatedAgent}) or the wrapper driver ({@link WrapperEntry}). Tests
 * that must hold whichever way an open came run over every {@link EntryKind}, with the same assertions.
 */
public interface Entry extends AutoCloseable {
  /** One application open of {@code url} (a plain {@code jdbc:postgresql:} URL; the entry addresses it its way). */
  Connection connect(String url, Properties info) throws SQLException;

  /** What this entry counted, and only this entry. */
  ReclaimMetrics metrics();

  /** The policy this entry acts on; null while it acts on none (an invalid configuration, or none read yet). */
  Policy policy();

  /**
   * Registers this entry's MBean as the entry's own start-up does ({@code dev.pgreclaim:type=Agent} for the agent,
   * {@code dev.pgreclaim:type=Jdbc} for the wrapper), replacing whatever an earlier test left under that name (the
   * registration keeps a name's first MBean); returns the name.
   */
  String registerMBean();

  @Override
  void close();
}
