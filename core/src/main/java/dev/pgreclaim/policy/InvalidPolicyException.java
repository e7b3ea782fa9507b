package dev.pgreclaim.policy;

import java.util.Collections;
import java.util.List;

/** One or more settings had values the agent refuses; each message names the property and the value. */
public final class InvalidPolicyException extends Exception {
    private static final long serialVersionUID = 1L;

    private final List<String> problems;

    InvalidPolicyException(List<String> problems) {
        super(join(problems));
        this.problems = Collections.unmodifiableList(problems);
    }

    public List<String> problems() {
        return problems;
    }

    private static String join(List<String> problems) {
        StringBuilder message = new StringBuilder();
        for (String problem : problems) {
            if (message.length() > 0) {
                message.append("; ");
            }
            message.append(problem);
        }
        return message.toString();
    }
}
