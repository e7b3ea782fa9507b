package dev.pgreclaim.reclaim;

/**
 * Marks the agent's own connection opens on this thread. The admin connection is opened through the application's
 * {@code Driver}, which is woven: without this guard a refused admin login would start a reclaim of its own.
 */
public final class ReentryGuard {
    private static final ThreadLocal<Boolean> INSIDE = new ThreadLocal<Boolean>();

    private ReentryGuard() {
    }

    public static boolean isInside() {
        return INSIDE.get() != null;
    }

    static void enter() {
        INSIDE.set(Boolean.TRUE);
    }

    static void exit() {
        INSIDE.remove();
    }
}
