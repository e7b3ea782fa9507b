package dev.pgreclaim.agent;

import java.lang.instrument.Instrumentation;

/**
 * Attach, first or later (also after {@code -javaagent}): the policy of the agent arguments is read at once (the
 * operator who attaches wants a configuration error now, and the driver is usually loaded already) and replaces the
 * running one ({@link Activation#attach}). The {@code attach} command asks for a report: its first argument line is
 * {@value #REPORT_PREFIX}{@code <token>}, and the outcome is left in the system property {@value #REPORT_PROPERTY}
 * as {@code token}, status and detail on three lines, which the command reads back through the Attach API.
 */
final class Installer {
    static final String REPORT_PREFIX = "@report=";
    static final String REPORT_PROPERTY = "dev.pgreclaim.attach.outcome";

    private Installer() {
    }

    static void attach(String agentArgs, Instrumentation instrumentation) {
        String token = null;
        String policyArgs = agentArgs;
        if (agentArgs != null && agentArgs.startsWith(REPORT_PREFIX)) {
            int lineEnd = agentArgs.indexOf('\n');
            token = agentArgs.substring(REPORT_PREFIX.length(), lineEnd < 0 ? agentArgs.length() : lineEnd).trim();
            policyArgs = lineEnd < 0 ? "" : agentArgs.substring(lineEnd + 1);
        }
        Activation.Outcome outcome = Activation.attach(policyArgs, instrumentation);
        if (token != null) {
            System.setProperty(REPORT_PROPERTY, token + "\n" + outcome.status + "\n" + outcome.detail);
        }
    }
}
