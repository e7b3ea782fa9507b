package dev.pgreclaim.reclaim;

import dev.pgreclaim.log.ReclaimLog;

/**
 * The fields of the audit line, shared by the agent (logged through {@link ReclaimLog#audit}) and the CLI (printed on
 * its standard output), so an operator's grep finds both: {@code pg-reclaim AUDIT terminated <victim> reason="..."}.
 */
public final class AuditLine {
    private AuditLine() {
    }

    /** {@code <victim fields> reason="<reason>"}; double quotes inside the reason become single quotes. */
    public static String fields(Victim victim, String reason) {
        return victim.describe() + " reason=\"" + reason.replace('"', '\'') + "\"";
    }

    /** The whole line, for callers that print it themselves instead of logging it. */
    public static String line(String fields) {
        return ReclaimLog.AUDIT_PREFIX + " terminated " + fields;
    }
}
