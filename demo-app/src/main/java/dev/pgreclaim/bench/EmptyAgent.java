package dev.pgreclaim.bench;

import java.lang.instrument.Instrumentation;

/**
 * The floor of the JVM-start figure: an agent that does nothing. The bench packs this class alone into a jar with a
 * {@code Premain-Class} manifest, so the difference to "no agent" is the JVM's own price for {@code -javaagent}.
 */
public final class EmptyAgent {
    private EmptyAgent() {
    }

    public static void premain(String args, Instrumentation instrumentation) {
        // deliberately nothing
    }
}
