package dev.pgreclaim.bench;

import dev.pgreclaim.testkit.IdleHolder;
import dev.pgreclaim.testkit.IdleHolder.HoldState;
import dev.pgreclaim.testkit.TestDatabase;
import dev.pgreclaim.testkit.TestDatabase.Seed;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Figure 4, storm: {@link StormApp} with the agent, many threads against a role whose every slot is held by an idle
 * session of other processes ({@link IdleHolder}s, one JVM each).
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

    static String run(BenchContext context) throws Exception {
        int threads = context.quick ? 16 : 64;
        int limit = context.quick ? 2 : 8;
        int seconds = context.quick ? 3 : 20;
        List<IdleHolder> holders = new ArrayList<>();
        Set<Integer> holderPids = new TreeSet<>();
        Child.Result result;
        try (Seed seed = TestDatabase.seed(context.server, limit)) {
            try {
                ExecutorService starter = Executors.newFixedThreadPool(limit);
                List<Future<IdleHolder>> started = new ArrayList<>();
                for (int i = 0; i < limit; i++) {
                    String name = "idle-holder-" + i;
                    started.add(starter.submit(() -> IdleHolder.start(seed.url(), seed.role(), seed.rolePassword(),
                            HoldState.IDLE, name)));
                }
                starter.shutdown();
                for (Future<IdleHolder> future : started) {
                    IdleHolder holder = future.get();
                    holders.add(holder);
                    holderPids.add(holder.backendPid());
                }
                // The holders must be idle for min-idle before the storm; the storm's own sessions never are
                // (open, 5 ms of work, close), so min-idle is what keeps the agent off the application's sessions.
                Thread.sleep(MIN_IDLE_MILLIS + 300);
                StringBuilder pids = new StringBuilder();
                for (int pid : holderPids) {
                    pids.append(pids.length() == 0 ? "" : ",").append(pid);
                }
                result = context.child(context.java(),
                        context.agentFlags(seed, "pgreclaim.min-idle=" + MIN_IDLE_MILLIS + "ms"),
                        StormApp.class.getName(), String.valueOf(threads), String.valueOf(seconds), pids.toString())
                        .env("PGRECLAIM_ADMIN_PASSWORD", seed.adminPassword())
                        .env("BENCH_URL", seed.url()).env("BENCH_ROLE", seed.role())
                        .env("BENCH_PW", seed.rolePassword()).env("BENCH_ADMIN", seed.admin())
                        .env("BENCH_ADMIN_PW", seed.adminPassword())
                        .timeoutSeconds(seconds + 120)
                        .run().requireSuccess("storm");
            } finally {
                for (IdleHolder holder : holders) {
                    holder.close();
                }
            }
        }
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
            (openEnd[i] < phaseEnd ? opensBefore : opensAfter).add(openNs[i]);
        }
        List<Long> errorsBefore = new ArrayList<>();
        List<Long> errorsAfter = new ArrayList<>();
        for (int i = 0; i < errorNs.length; i++) {
            (errorEnd[i] < phaseEnd ? errorsBefore : errorsAfter).add(errorNs[i]);
        }
        List<Integer> killed = new ArrayList<>();
        Matcher matcher = AUDIT.matcher(result.stderr());
        while (matcher.find()) {
            killed.add(Integer.parseInt(matcher.group(1)));
        }
        long wrongKills = killed.stream().filter(pid -> !holderPids.contains(pid)).count();
        Stats all = new Stats(openNs);
        Stats before = Stats.of(opensBefore);
        Stats after = Stats.of(opensAfter);
        Stats errBefore = Stats.of(errorsBefore);
        Stats errAfter = Stats.of(errorsAfter);
        Table table = new Table("phase", "opens", "open p50", "open p99", "open max", "surfaced errors",
                "error p50", "error p99", "target");
        table.row("idle victims exist (first " + (victimsGone < 0 ? "-" : Stats.ms(victimsGone)) + ")",
                before.count(), Stats.ms(before.median()), Stats.ms(before.percentile(99)), Stats.ms(before.max()),
                errBefore.count(), Stats.ms(errBefore.median()), Stats.ms(errBefore.percentile(99)),
                SteadyFigure.verdict(errBefore.count() == 0, "0 errors"));
        table.row("after the last victim left", after.count(), Stats.ms(after.median()),
                Stats.ms(after.percentile(99)), Stats.ms(after.max()), errAfter.count(), Stats.ms(errAfter.median()),
                Stats.ms(errAfter.percentile(99)), "(role full of busy sessions: refusals expected)");
        table.row("whole storm", all.count(), Stats.ms(all.median()), Stats.ms(all.percentile(99)),
                Stats.ms(all.max()), errorNs.length, "", "", "");
        boolean terminationsOk = terminations == holderPids.size() && killed.size() == holderPids.size()
                && wrongKills == 0;
        return "## 4. Storm\n\n" + threads + " threads, role connection limit " + limit + ", " + limit
                + " idle holders in other JVMs (min-idle " + MIN_IDLE_MILLIS + "ms), " + seconds
                + " s of open / `select pg_sleep(0.005)`"
                + " / close; a surfaced refusal makes the thread pause 5 ms. Open and error times are measured from"
                + " the call to `getConnection` to its return or throw.\n\n" + table.render()
                + "\nTerminations: " + terminations + " (MBean), " + killed.size() + " audit lines, " + wrongKills
                + " of a session that was not a holder; holders: " + holderPids.size() + " -> "
                + SteadyFigure.verdict(terminationsOk, "terminations = holders") + ". SQLStates surfaced: "
                + (states.isEmpty() ? "none" : states) + ".\n";
    }
}
