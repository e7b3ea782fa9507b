package dev.pgreclaim.reclaim;

/** TEMPORARY lead-side stub; replaced by the admin-SQL branch's implementation at merge. */
public final class KillGuards {
    public static final KillGuards NONE = new KillGuards(new int[0], new int[0], null, false);
    final int[] excludedPids;
    final int[] requesterPids;
    final String openDatabase;
    final boolean needServerSlot;

    private KillGuards(int[] excludedPids, int[] requesterPids, String openDatabase, boolean needServerSlot) {
        this.excludedPids = excludedPids;
        this.requesterPids = requesterPids;
        this.openDatabase = openDatabase;
        this.needServerSlot = needServerSlot;
    }

    public static KillGuards of(int[] excludedPids, int[] requesterPids, String openDatabase, boolean needServerSlot) {
        return new KillGuards(excludedPids.clone(), requesterPids.clone(), openDatabase, needServerSlot);
    }
}
