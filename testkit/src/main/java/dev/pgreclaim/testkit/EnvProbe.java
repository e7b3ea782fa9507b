package dev.pgreclaim.testkit;

import java.util.TreeSet;

/** Prints the names of its environment variables, one a line (see {@link ForkedJvmTest}). */
public final class EnvProbe {
  private EnvProbe() {}

  public static void main(String[] args) {
    for (String name : new TreeSet<>(System.getenv().keySet())) {
      System.out.println("ENV " + name);
    }
  }
}
