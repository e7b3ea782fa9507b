package dev.pgreclaim.demo;

/** Prints the narrator's colour decision in the JVM it runs in (see {@link NarratorColourTest}). */
public final class ColourProbe {
    private ColourProbe() {
    }

    public static void main(String[] args) {
        System.out.println("colour=" + Narrator.colourWanted());
    }
}
