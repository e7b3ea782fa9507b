package dev.pgreclaim.cli;

/** The CLI's exit codes, documented in {@code src/site/markdown/cli.md}. */
final class ExitCode {
    /** The command did what was asked (status printed, sessions terminated, would-be victims named, agent loaded). */
    static final int DONE = 0;
    /** reclaim found no eligible session: nothing was terminated, and the output says why. */
    static final int NOTHING_TO_RECLAIM = 1;
    /** Usage error, bad URL, refused login, unreachable server, missing privilege, attach failure. */
    static final int ERROR = 2;

    private ExitCode() {
    }
}
