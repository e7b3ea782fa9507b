package dev.pgreclaim.it;

import java.io.File;
import java.net.URL;
import java.net.URLClassLoader;
import java.sql.Connection;
import java.sql.Driver;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

/**
 * Opens several connections one after another, from pgjdbc in a chosen class loader, and keeps every connection it
 * gets until it exits (so a freed slot is not given back between opens). Reports each open on stdout like
 * {@link ConnectApp}: {@code OPEN i CONNECTED} or {@code OPEN i FAILED sqlstate=S class=C}, then one
 * {@code OPEN i SUPPRESSED ...} line per suppressed exception. Password from env APP_PASSWORD.
 *
 * <p>Args: {@code url user opens flat|isolated [driverJar]}; {@code isolated}: pgjdbc in a loader whose parent is the
 * platform loader, so the woven driver reaches the agent's bridge by reflection.
 */
public final class FaultApp {
  private FaultApp() {}

  public static void main(String[] args) throws Exception {
    String url = args[0];
    int opens = Integer.parseInt(args[2]);
    ClassLoader loader = args[3].equals("isolated")
        ? new URLClassLoader(new URL[] {new File(args[4]).toURI().toURL()}, ClassLoader.getPlatformClassLoader())
        : ClassLoader.getSystemClassLoader();
    Driver driver = (Driver) Class.forName("org.postgresql.Driver", true, loader).getConstructor().newInstance();
    Properties login = new Properties();
    login.setProperty("user", args[1]);
    login.setProperty("password", System.getenv("APP_PASSWORD"));
    List<Connection> kept = new ArrayList<>();
    for (int i = 1; i <= opens; i++) {
      try {
        kept.add(driver.connect(url, login));
        System.out.println("OPEN " + i + " CONNECTED loader=" + (driver.getClass().getClassLoader() == loader));
      } catch (SQLException refused) {
        System.out.println("OPEN " + i + " FAILED sqlstate=" + refused.getSQLState() + " class="
            + refused.getClass().getName());
        for (Throwable suppressed : refused.getSuppressed()) {
          System.out.println("OPEN " + i + " SUPPRESSED " + suppressed);
        }
      }
    }
    for (Connection connection : kept) {
      connection.close();
    }
    System.out.flush();
  }
}
