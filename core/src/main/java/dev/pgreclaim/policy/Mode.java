package dev.pgreclaim.policy;

/** What the agent does when an open is refused with SQLState 53300. */
public enum Mode {
    /** Inert: the driver is not even woven. */
    OFF,
    /** Log each refusal, its kind and the session that would be terminated; terminate nothing. */
    OBSERVE,
    /** Terminate a victim and retry the open. */
    TERMINATE;

    public String token() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
