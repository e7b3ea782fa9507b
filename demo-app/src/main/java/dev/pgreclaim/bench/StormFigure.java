package dev.pgreclaim.bench;

import dev.pgreclaim.testkit.IdleHolder;
import dev.pgreclaim.testkit.IdleHolder.HoldState;
import dev.pgreclaim.testkit.TestDatabase;
import dev.pgreclaim.testkit.TestDatabase.Seed;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Figure 4, storm: {@link StormApp}, many threads against a role whose every slot is held by an idle session of
 * other processes ({@link IdleHolder}s, one JVM each), without and with the agent.
 */
final class StormFigure {
    private static final Pattern AUDIT = Pattern.compile("pg-reclaim AUDIT terminated pid=(\\d+)");

    private StormFigure() {
    }

    /**
     * Above any pause a storm thread may see between its open and its close on a loaded 2-core machine (a 200 ms
     * setting let the agent pick application sessions that sat descheduled), below the default 10 s to keep the run
     * short.
     */
    static final long MIN_IDLE_MILLIS = 2000;

    /** What one storm run printed, split by the phase in which each open STARTED. */
    private record Run(Stats opensBefore, Stats opensAfter, Stats errorsBefore, Stats errorsAfter, long victimsGone,
            long terminations, List<Integer> audited, String states, boolean active) {
        int started() {
            return opensBefore.count() + opensAfter.count() + errorsBefore.count() + errorsAfter.count();
        }

        int errors() {
            return errorsBefore.count() + errorsAfter.count();
        }

        int connected() {
            return opensBefore.count() + opensAfter.count();
        }
    }

    static String run(BenchContext context) throws Exception {
        int threads = context.quick ? 16 : 64;
        int limit = context.quick ? 2 : 8;
        int seconds = context.quick ? 3 : 20;
        List<IdleHolder> holders = new ArrayList<>();
        Set<Integer> holderPids = new TreeSet<>();
        Run without;
        Run with;
        try (Seed seed = TestDatabase.seed(context.server, limit)) {
            try {
                holders.addAll(startHolders(seed, limit));
                for (IdleHolder holder : holders) {
                    holderPids.add(holder.backendPid());
                }
                // The holders must be idle for min-idle before the storm; the storm's own sessions never are
                // (open, 5 ms of work, close), so min-idle is what keeps the agent off the application's sessions.
                Thread.sleep(MIN_IDLE_MILLIS + 300);
                // Without the agent first: it leaves the holders as they are, so the same holders then face the
                // storm with the agent.
                without = storm(context, seed, threads, seconds, holderPids, false);
                with = storm(context, seed, threads, seconds, holderPids, true);
            } finally {
                for (IdleHolder holder : holders) {
                    holder.close();
                }
            }
        }
        Table table = new Table("storm", "phase (by when the open started)", "opens started", "connected",
                "surfaced errors", "open p50", "open p99", "error p50", "error p99");
        String gone = with.victimsGone < 0 ? "never" : "after " + Stats.ms(with.victimsGone);
        row(table, "with the agent", "idle victims exist (the last left " + gone + ")", with.opensBefore,
                with.errorsBefore);
        row(table, "with the agent", "after the last victim left (role full of busy sessions)", with.opensAfter,
                with.errorsAfter);
        row(table, "without the agent", "idle victims exist (the whole storm: nothing ends them)",
                without.opensBefore, without.errorsBefore);
        row(table, "without the agent", "after the last victim left", without.opensAfter, without.errorsAfter);
        List<Integer> audited = with.audited;
        boolean exactSet = audited.size() == holderPids.size() && new TreeSet<>(audited).equals(holderPids)
                && with.terminations == holderPids.size();
        boolean valid = with.active && without.audited.isEmpty();
        String why = valid ? "" : with.active ? " (the run without the agent terminated sessions)" : " (agent not"
                + " active)";
        double errorRateWith = (double) with.errors() / with.started();
        double errorRateWithout = (double) without.errors() / without.started();
        int connectedWhileVictims = with.opensBefore.count();
        Table targets = new Table("with / without the agent", "with", "without", "target");
        targets.row("connections from opens started while idle victims existed", connectedWhileVictims,
                without.opensBefore.count(), context.verdict("storm: connections while victims exist, with - without",
                        valid && connectedWhileVictims - without.opensBefore.count() >= holderPids.size(),
                        "with - without >= " + holderPids.size() + " (one per victim at least)" + why));
        targets.row("surfaced errors per started open, whole storm", String.format(Locale.ROOT, "%.3f (%d / %d)",
                errorRateWith, with.errors(), with.started()), String.format(Locale.ROOT, "%.3f (%d / %d)",
                errorRateWithout, without.errors(), without.started()), context.verdict(
                        "storm: surfaced errors per started open, with / without",
                        valid && errorRateWith < errorRateWithout, "with / without < 1"
                                + String.format(Locale.ROOT, " (%.2f)", errorRateWith / errorRateWithout) + why));
        targets.row("terminated backends (audit lines; MBean " + with.terminations + ")", audited.toString(),
                without.audited.toString(), context.verdict("storm: terminated set = holders' set",
                        valid && exactSet, "each of the " + holderPids.size() + " holders " + holderPids
                                + " terminated exactly once, nothing else" + why));
        return "## 4. Storm\n\n" + threads + " threads, role connection limit " + limit + ", " + limit
                + " idle holders in other JVMs (min-idle " + MIN_IDLE_MILLIS + "ms), " + seconds
                + " s of open / `select pg_sleep(0.005)` / close; a surfaced refusal makes the thread pause 5 ms."
                + " The same storm runs without the agent first, against the same holders, then with it. Each open"
                + " counts in the phase in which it started; its time runs from the call to `getConnection` to its"
                + " return or throw.\n\n" + table.render() + "\n" + targets.render() + "\nSQLStates surfaced: with "
                + (with.states.isEmpty() ? "none" : with.states) + ", without "
                + (without.states.isEmpty() ? "none" : without.states) + ".\n";
    }

    private static void row(Table table, String storm, String phase, Stats opens, Stats errors) {
        table.row(storm, phase, opens.count() + errors.count(), opens.count(), errors.count(), Stats.ms(opens.median()),
                Stats.ms(opens.percentile(99)), Stats.ms(errors.median()), Stats.ms(errors.percentile(99)));
    }

    /** {@code count} idle sessions of the seed's role, each held by a JVM of its own, started in parallel. */
    static List<IdleHolder> startHolders(Seed seed, int count) throws Exception {
        List<IdleHolder> holders = new ArrayList<>();
        ExecutorService starter = Executors.newFixedThreadPool(count);
        try {
            List<Future<IdleHolder>> started = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                String name = "idle-holder-" + i;
                started.add(starter.submit(() -> IdleHolder.start(seed.url(), seed.role(), seed.rolePassword(),
                        HoldState.IDLE, name)));
            }
            Exception failure = null;
            for (Future<IdleHolder> future : started) {
                try {
                    holders.add(future.get());
                } catch (ExecutionException e) {
                    failure = e;
                }
            }
            if (failure != null) {
                holders.forEach(IdleHolder::close);
                throw failure;
            }
        } finally {
            starter.shutdown();
        }
        return holders;
    }

    private static Run storm(BenchContext context, Seed seed, int threads, int seconds, Set<Integer> holderPids,
            boolean agent) {
        StringBuilder pids = new StringBuilder();
        for (int pid : holderPids) {
            pids.append(pids.length() == 0 ? "" : ",").append(pid);
        }
        List<String> flags = agent ? context.agentFlags(seed, "pgreclaim.min-idle=" + MIN_IDLE_MILLIS + "ms")
                : List.of();
        Progress progress = Progress.of(context, agent ? "with the agent" : "without the agent", seconds, "s");
        Child.Result result = context.child(context.java(), flags, StormApp.class.getName(), String.valueOf(threads),
                String.valueOf(seconds), pids.toString(), agent ? "agent" : "none")
                .env("PGRECLAIM_ADMIN_PASSWORD", seed.adminPassword())
                .env("BENCH_URL", seed.url()).env("BENCH_ROLE", seed.role())
                .env("BENCH_PW", seed.rolePassword()).env("BENCH_ADMIN", seed.admin())
                .env("BENCH_ADMIN_PW", seed.adminPassword())
                .timeoutSeconds(seconds + 120).onProgress(progress::set)
                .run().requireSuccess("storm");
        progress.set(seconds);
        String out = result.stdout();
        long[] openNs = Stats.parseTagged(out, "OPEN_NS");
        long[] openEnd = Stats.parseTagged(out, "OPEN_END_NS");
        long[] errorNs = Stats.parseTagged(out, "ERROR_NS");
        long[] errorEnd = Stats.parseTagged(out, "ERROR_END_NS");
        long victimsGone = Stats.parseTagged(out, "VICTIMS_GONE_NS")[0];
        long terminations = Stats.parseTagged(out, "TERMINATIONS")[0];
        String states = out.lines().filter(l -> l.startsWith("ERROR_STATES")).findFirst().orElse("").substring(12)
                .trim();
        long phaseEnd = victimsGone < 0 ? Long.MAX_VALUE : victimsGone;
        List<Long> opensBefore = new ArrayList<>();
        List<Long> opensAfter = new ArrayList<>();
        for (int i = 0; i < openNs.length; i++) {
            (openEnd[i] - openNs[i] < phaseEnd ? opensBefore : opensAfter).add(openNs[i]);
        }
        List<Long> errorsBefore = new ArrayList<>();
        List<Long> errorsAfter = new ArrayList<>();
        for (int i = 0; i < errorNs.length; i++) {
            (errorEnd[i] - errorNs[i] < phaseEnd ? errorsBefore : errorsAfter).add(errorNs[i]);
        }
        return new Run(Stats.of(opensBefore), Stats.of(opensAfter), Stats.of(errorsBefore), Stats.of(errorsAfter),
                victimsGone, terminations, auditedPids(result.stderr()), states, !agent || BenchContext.agentActive(
                        result));
    }

    /** The backend pids of the agent's audit lines, in order, repeats kept. */
    static List<Integer> auditedPids(String stderr) {
        List<Integer> killed = new ArrayList<>();
        Matcher matcher = AUDIT.matcher(stderr);
        while (matcher.find()) {
            killed.add(Integer.parseInt(matcher.group(1)));
        }
        return killed;
    }
}
