package dev.pgreclaim.cli;

/** Ends a command with an exit code and one message for stderr (no stack trace: the message must say it all). */
final class CliException extends Exception {
    private static final long serialVersionUID = 1L;

    private final int exitCode;

    CliException(int exitCode, String message) {
        super(message);
        this.exitCode = exitCode;
    }

    CliException(int exitCode, String message, Throwable cause) {
        super(message, cause);
        this.exitCode = exitCode;
    }

    static CliException usage(String message) {
        return new CliException(ExitCode.ERROR, message);
    }

    int exitCode() {
        return exitCode;
    }
}
