package dev.pgreclaim.agent;

import java.io.IOException;
import java.io.InputStream;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.List;

/**
 * Child-first for the given package prefixes, found in its own URLs; everything else (the core, SLF4J, the test's
 * classes) from the test's loader. A fresh copy of a component's static state per instance, as in a fresh JVM,
 * while the core's types stay the test's own (a {@code ReclaimMetrics} read from it is the test's class).
 */
class IsolatingLoader extends URLClassLoader {
  static {
    registerAsParallelCapable();
  }

  private final List<String> ownPrefixes;

  IsolatingLoader(URL[] urls, List<String> ownPrefixes) {
    super(urls, IsolatingLoader.class.getClassLoader());
    this.ownPrefixes = ownPrefixes;
  }

  /** The class path root (directory or jar) the test's loader finds {@code className} in. */
  static URL rootOf(String className) {
    String resource = className.replace('.', '/') + ".class";
    URL found = IsolatingLoader.class.getClassLoader().getResource(resource);
    if (found == null) {
      throw new IllegalStateException(className + " is not on the test class path");
    }
    String text = found.toString();
    try {
      if (text.startsWith("jar:")) {
        return new URL(text.substring("jar:".length(), text.indexOf("!/")));
      }
      return new URL(text.substring(0, text.length() - resource.length()));
    } catch (MalformedURLException cannotBe) {
      throw new IllegalStateException(text, cannotBe);
    }
  }

  /** The class file bytes of {@code name} as this loader's URLs hold them. */
  byte[] classBytes(String name) throws ClassNotFoundException {
    try (InputStream in = getResourceAsStream(name.replace('.', '/') + ".class")) {
      if (in == null) {
        throw new ClassNotFoundException(name);
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new ClassNotFoundException(name, e);
    }
  }

  /** Defines {@code name} from its own bytes; a subclass may change them. */
  protected Class<?> defineOwn(String name) throws ClassNotFoundException {
    return findClass(name);
  }

  @Override
  protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
    if (ownPrefixes.stream().noneMatch(name::startsWith)) {
      return super.loadClass(name, resolve);
    }
    synchronized (getClassLoadingLock(name)) {
      Class<?> loaded = findLoadedClass(name);
      if (loaded == null) {
        try {
          loaded = defineOwn(name);
        } catch (ClassNotFoundException notOurs) {
          // a test class in the same package (it is not in this loader's URLs)
          return super.loadClass(name, resolve);
        }
      }
      if (resolve) {
        resolveClass(loaded);
      }
      return loaded;
    }
  }
}
