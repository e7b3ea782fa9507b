package dev.pgreclaim.springapp;

import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import javax.sql.DataSource;
import org.springframework.boot.CommandLineRunner;
import org.springframework.boot.ExitCodeGenerator;
import org.springframework.stereotype.Component;

/**
 * Borrows one connection from the auto-configured {@link DataSource} and asks for its backend pid: the one line
 * {@code spring-app: connected pid=N via <pool>} on success, {@code spring-app: failed sqlstate=S ...} otherwise.
 */
@Component
class ConnectCheck implements CommandLineRunner, ExitCodeGenerator {
    private final DataSource dataSource;
    private volatile int exitCode = 1;

    ConnectCheck(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    @Override
    public void run(String... args) {
        // HikariCP starts its pool on the first borrow; a refused first login comes back as its
        // PoolInitializationException (a RuntimeException) with the driver's SQLException as the cause
        try (Connection connection = dataSource.getConnection();
                Statement statement = connection.createStatement();
                ResultSet rows = statement.executeQuery("select pg_catalog.pg_backend_pid()")) {
            rows.next();
            System.out.println("spring-app: connected pid=" + rows.getInt(1) + " via " + poolName());
            exitCode = 0;
        } catch (SQLException | RuntimeException e) {
            System.out.println("spring-app: failed sqlstate=" + SpringApp.sqlState(e) + " " + e);
            exitCode = 1;
        }
    }

    private String poolName() throws SQLException {
        if (dataSource.isWrapperFor(HikariDataSource.class)) {
            return dataSource.unwrap(HikariDataSource.class).getPoolName();
        }
        return dataSource.getClass().getName();
    }

    @Override
    public int getExitCode() {
        return exitCode;
    }
}
