package dev.pgreclaim.metrics;

import dev.pgreclaim.policy.LimitKind;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/** Counters by outcome, read by the MBean and by tests. Lock-free; cheap enough for every refusal. */
public final class ReclaimMetrics {
    private final Map<LimitKind, AtomicLong> refusals = new EnumMap<LimitKind, AtomicLong>(LimitKind.class);
    private final Map<FailureCause, AtomicLong> failures = new EnumMap<FailureCause, AtomicLong>(FailureCause.class);
    private final AtomicLong reclaimsAttempted = new AtomicLong();
    private final AtomicLong terminations = new AtomicLong();
    private final AtomicLong recoveries = new AtomicLong();
    private final AtomicLong observations = new AtomicLong();
    private volatile String lastTermination = "";
    /** A registration of the MBean waiting for a refusal or a platform MBean server; null when none is. */
    private volatile LazyMBean pendingMBean;

    public ReclaimMetrics() {
        for (LimitKind kind : LimitKind.values()) {
            refusals.put(kind, new AtomicLong());
        }
        for (FailureCause cause : FailureCause.values()) {
            failures.put(cause, new AtomicLong());
        }
    }

    public void refusal(LimitKind kind) {
        refusals.get(kind).incrementAndGet();
        LazyMBean pending = pendingMBean;
        if (pending != null) {
            pending.onRefusal();
        }
    }

    /** The application opened a connection (see {@link LazyMBean}). */
    public void opened() {
        LazyMBean pending = pendingMBean;
        if (pending != null) {
            pending.onOpen();
        }
    }

    synchronized void armMBean(LazyMBean pending) {
        pendingMBean = pending;
    }

    /** Takes {@code pending}'s registration if it is still the one pending; true when the caller is to register. */
    synchronized boolean claimMBean(LazyMBean pending) {
        if (pendingMBean != pending) {
            return false;
        }
        pendingMBean = null;
        return true;
    }

    /** True while the MBean's registration waits for a refusal or a platform MBean server. */
    public boolean mBeanPending() {
        return pendingMBean != null;
    }

    public void reclaimAttempted() {
        reclaimsAttempted.incrementAndGet();
    }

    public void terminated(String summary) {
        terminations.incrementAndGet();
        lastTermination = summary;
    }

    public void recovered() {
        recoveries.incrementAndGet();
    }

    public void observed() {
        observations.incrementAndGet();
    }

    public void failure(FailureCause cause) {
        failures.get(cause).incrementAndGet();
    }

    public long refusals(LimitKind kind) {
        return refusals.get(kind).get();
    }

    public long refusalsTotal() {
        long total = 0;
        for (AtomicLong count : refusals.values()) {
            total += count.get();
        }
        return total;
    }

    public long reclaimsAttempted() {
        return reclaimsAttempted.get();
    }

    public long terminations() {
        return terminations.get();
    }

    public long recoveries() {
        return recoveries.get();
    }

    public long observations() {
        return observations.get();
    }

    public long failures(FailureCause cause) {
        return failures.get(cause).get();
    }

    public String lastTermination() {
        return lastTermination;
    }

    public Map<String, Long> refusalsByKind() {
        Map<String, Long> view = new LinkedHashMap<String, Long>();
        for (Map.Entry<LimitKind, AtomicLong> entry : refusals.entrySet()) {
            view.put(entry.getKey().token(), entry.getValue().get());
        }
        return view;
    }

    public Map<String, Long> failuresByCause() {
        Map<String, Long> view = new LinkedHashMap<String, Long>();
        for (Map.Entry<FailureCause, AtomicLong> entry : failures.entrySet()) {
            view.put(entry.getKey().token(), entry.getValue().get());
        }
        return view;
    }
}
