package dev.pgreclaim.reclaim;

import dev.pgreclaim.policy.LimitKind;
import java.lang.reflect.Method;
import java.sql.SQLException;

/**
 * A refused open: SQLState 53300 and the limit it hit. The routine is read from pgjdbc's
 * {@code PSQLException.getServerErrorMessage().getRoutine()} by reflection, so the agent never links against the
 * application's driver classes (which may live in a loader the agent cannot see).
 */
public final class Refusal {
    private final SQLException exception;
    private final LimitKind kind;
    private final String routine;

    private Refusal(SQLException exception, LimitKind kind, String routine) {
        this.exception = exception;
        this.kind = kind;
        this.routine = routine;
    }

    /** The refusal in this outcome, or null when it is not a 53300 (then the agent has nothing to do). */
    public static Refusal classify(Throwable thrown) {
        SQLException sqlException = findTooManyConnections(thrown);
        if (sqlException == null) {
            return null;
        }
        String routine = routineOf(sqlException);
        return new Refusal(sqlException, kindOf(routine), routine);
    }

    private static SQLException findTooManyConnections(Throwable thrown) {
        // pgjdbc throws the PSQLException itself; with loginTimeout the worker's exception is rethrown as is.
        // Look one cause deep as well, for wrappers that keep the driver's exception as cause.
        Throwable current = thrown;
        for (int depth = 0; current != null && depth < 3; depth++) {
            if (current instanceof SQLException
                    && SqlStates.TOO_MANY_CONNECTIONS.equals(((SQLException) current).getSQLState())) {
                return (SQLException) current;
            }
            current = current.getCause();
        }
        return null;
    }

    public static LimitKind kindOf(String routine) {
        if (routine == null) {
            return LimitKind.UNKNOWN;
        }
        if (SqlStates.ROUTINE_ROLE_LIMIT.equals(routine)) {
            return LimitKind.ROLE;
        }
        if (SqlStates.ROUTINE_DATABASE_LIMIT.equals(routine)) {
            return LimitKind.DATABASE;
        }
        if (SqlStates.ROUTINE_RESERVED.equals(routine)) {
            return LimitKind.RESERVED;
        }
        if (SqlStates.ROUTINE_NO_PROC.equals(routine) || SqlStates.ROUTINE_CHILD_LIMIT_OLD.equals(routine)
                || SqlStates.ROUTINE_CHILD_LIMIT.equals(routine)) {
            return LimitKind.SERVER;
        }
        return LimitKind.UNKNOWN;
    }

    /** {@code getServerErrorMessage().getRoutine()} by reflection; null when unavailable. */
    static String routineOf(SQLException exception) {
        try {
            Method getServerErrorMessage = exception.getClass().getMethod("getServerErrorMessage");
            Object serverError = getServerErrorMessage.invoke(exception);
            if (serverError == null) {
                return null;
            }
            Method getRoutine = serverError.getClass().getMethod("getRoutine");
            Object routine = getRoutine.invoke(serverError);
            return routine instanceof String ? (String) routine : null;
        } catch (Exception notPgjdbc) {
            return null;
        } catch (LinkageError notPgjdbc) {
            return null;
        }
    }

    public SQLException exception() {
        return exception;
    }

    public LimitKind kind() {
        return kind;
    }

    /** The server's routine name, or null. */
    public String routine() {
        return routine;
    }

    /** For logs: {@code role limit (53300 InitializeSessionUserId)}. */
    public String describe() {
        return kind.token() + " limit (53300 " + (routine == null ? "no routine" : routine) + ")";
    }
}
