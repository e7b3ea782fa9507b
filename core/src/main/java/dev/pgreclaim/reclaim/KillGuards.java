package dev.pgreclaim.reclaim;

import java.util.Arrays;

/**
 * What a kill must serve, checked by {@link VictimQuery} inside the statement that terminates (so at the moment of
 * the kill, not a round trip earlier). Immutable.
 *
 * <ul>
 * <li>{@code excludedPids}: pids this JVM (or CLI run) already signalled; never selected again, however slowly they
 * exit.</li>
 * <li>{@code requesterPids}: backend pids of the sessions the requesting application opened for this role on this
 * server. When one of them is idle (waiting for its client), the requester is not starving: nothing is terminated.
 * </li>
 * <li>{@code openDatabase}: the database the refused open wants; when not null, a session is terminated only if that
 * database then has room under its {@code datconnlimit}.</li>
 * <li>{@code needServerSlot}: when true, a session is terminated only if a non-superuser retry then gets a
 * non-reserved process slot.</li>
 * </ul>
 */
public final class KillGuards {
    private static final int[] NO_PIDS = new int[0];

    /** No guard: the victim rules alone decide. */
    public static final KillGuards NONE = new KillGuards(NO_PIDS, NO_PIDS, null, false);

    private final int[] excludedPids;
    private final int[] requesterPids;
    private final String openDatabase;
    private final boolean needServerSlot;

    private KillGuards(int[] excludedPids, int[] requesterPids, String openDatabase, boolean needServerSlot) {
        this.excludedPids = excludedPids;
        this.requesterPids = requesterPids;
        this.openDatabase = openDatabase;
        this.needServerSlot = needServerSlot;
    }

    /** Null arrays count as empty; the arrays are copied. */
    public static KillGuards of(int[] excludedPids, int[] requesterPids, String openDatabase,
            boolean needServerSlot) {
        return new KillGuards(copy(excludedPids), copy(requesterPids), openDatabase, needServerSlot);
    }

    /** The same guards, with one more pid excluded. */
    public KillGuards excluding(int pid) {
        int[] more = Arrays.copyOf(excludedPids, excludedPids.length + 1);
        more[excludedPids.length] = pid;
        return new KillGuards(more, requesterPids, openDatabase, needServerSlot);
    }

    private static int[] copy(int[] pids) {
        return pids == null || pids.length == 0 ? NO_PIDS : pids.clone();
    }

    public int[] excludedPids() {
        return excludedPids.clone();
    }

    public int[] requesterPids() {
        return requesterPids.clone();
    }

    /** The refused open's database, or null when the database limit is not checked. */
    public String openDatabase() {
        return openDatabase;
    }

    public boolean needServerSlot() {
        return needServerSlot;
    }

    /** {@link #excludedPids} as an {@code int4[]} literal ({@code {1,2}}), for the victim query's parameter. */
    String excludedLiteral() {
        return literal(excludedPids);
    }

    /** {@link #requesterPids} as an {@code int4[]} literal. */
    String requestersLiteral() {
        return literal(requesterPids);
    }

    private static String literal(int[] pids) {
        StringBuilder text = new StringBuilder(2 + 8 * pids.length).append('{');
        for (int i = 0; i < pids.length; i++) {
            if (i > 0) {
                text.append(',');
            }
            text.append(pids[i]);
        }
        return text.append('}').toString();
    }

    @Override
    public String toString() {
        return "excluded=" + Arrays.toString(excludedPids) + " requesters=" + Arrays.toString(requesterPids)
                + " openDatabase=" + openDatabase + " needServerSlot=" + needServerSlot;
    }
}
