package dev.pgreclaim.jdbc;

import dev.pgreclaim.reclaim.OpenHandler;
import java.sql.Connection;
import java.sql.Driver;
import java.sql.SQLException;
import java.util.Properties;
import javax.sql.DataSource;

/**
 * The loop the agent weaves into {@code Driver.connect}, in plain Java: run the open, hand its outcome to the core's
 * {@link OpenHandler}, and run it again while the handler says so. What the caller gets when it stops is the handler's
 * choice (round[1]), rethrown as the very object, so the caller sees what pgjdbc threw, with what was tried attached.
 */
final class ReclaimingOpen {
    private ReclaimingOpen() {
    }

    /**
     * One open through pgjdbc's {@code Driver.connect}. Each run gets a copy of the properties carrying the owner mark,
     * so that a pg-reclaim agent in the same JVM (which weaves that very {@code connect}) leaves this open to the
     * wrapper: exactly one of them reclaims.
     *
     * @param url the {@code jdbc:postgresql:} URL, {@code pgreclaim.*} parameters removed
     * @param info the caller's properties, {@code pgreclaim.*} entries removed
     */
    static Connection throughDriver(Driver pgjdbc, OpenHandler handler, String url, Properties info)
            throws SQLException {
        Object[] round = OpenHandler.newRound();
        String runUrl = url;
        Properties runInfo = info;
        while (true) {
            Connection connection = null;
            Throwable thrown = null;
            try {
                connection = pgjdbc.connect(runUrl, OpenHandler.ownedCopy(runInfo));
            } catch (Throwable failure) {
                thrown = failure;
            }
            if (!handler.onExit(pgjdbc, url, info, connection, thrown, round)) {
                if (thrown != null) {
                    throw rethrow(round[1] != null ? (Throwable) round[1] : thrown);
                }
                return connection;
            }
            if (round[3] != null) {
                runInfo = (Properties) round[3];
            }
            if (round[4] != null) {
                runUrl = (String) round[4];
            }
        }
    }

    /**
     * One open through a pgjdbc {@code DataSource}. The open is marked as this thread's for its duration (the
     * properties pgjdbc builds inside cannot be marked), so an agent underneath leaves it alone; the handler runs
     * after the mark is gone. A retry calls {@code getConnection} again as it is: the target's URL, user and login
     * timeout are its own and cannot be changed for one retry (see {@link PgReclaimDataSource}).
     *
     * @param url what the target says it opens ({@code getUrl()}), for the core to read host, database and role
     * @param info the login role when the target's URL does not carry it
     */
    static Connection throughDataSource(DataSource target, String user, String password, Driver pgjdbc,
            OpenHandler handler, String url, Properties info) throws SQLException {
        Object[] round = OpenHandler.newRound();
        while (true) {
            Connection connection = null;
            Throwable thrown = null;
            OpenHandler.beginOwned();
            try {
                connection = user == null ? target.getConnection() : target.getConnection(user, password);
            } catch (Throwable failure) {
                thrown = failure;
            } finally {
                OpenHandler.endOwned();
            }
            if (!handler.onExit(pgjdbc, url, info, connection, thrown, round)) {
                if (thrown != null) {
                    throw rethrow(round[1] != null ? (Throwable) round[1] : thrown);
                }
                return connection;
            }
        }
    }

    /** Throws unchecked throwables as themselves; returns an SQLException to throw as itself. */
    static SQLException rethrow(Throwable thrown) {
        if (thrown instanceof SQLException) {
            return (SQLException) thrown;
        }
        if (thrown instanceof RuntimeException) {
            throw (RuntimeException) thrown;
        }
        if (thrown instanceof Error) {
            throw (Error) thrown;
        }
        return new SQLException(thrown);
    }
}
