package dev.pgreclaim.springapp;

import java.sql.SQLException;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/**
 * A Spring Boot application that knows nothing of pg-reclaim: the wrapper driver is reached only through
 * {@code spring.datasource.url=jdbc:pgreclaim:postgresql://...} and {@code spring.datasource.driver-class-name}.
 * It borrows one connection from the auto-configured pool ({@link ConnectCheck}) and exits 0 when it got one, 1
 * otherwise.
 */
@SpringBootApplication
public class SpringApp {

    public static void main(String[] args) {
        int exitCode;
        try {
            exitCode = SpringApplication.exit(SpringApplication.run(SpringApp.class, args));
        } catch (RuntimeException e) {
            // the context did not start (say, a driver class that cannot be loaded): still one line with a SQLState
            System.out.println("spring-app: failed sqlstate=" + sqlState(e) + " " + e);
            exitCode = 1;
        }
        System.exit(exitCode);
    }

    /** The SQLState of the first {@link SQLException} in the cause chain (pools wrap them), or {@code none}. */
    static String sqlState(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof SQLException sql && sql.getSQLState() != null) {
                return sql.getSQLState();
            }
        }
        return "none";
    }
}
