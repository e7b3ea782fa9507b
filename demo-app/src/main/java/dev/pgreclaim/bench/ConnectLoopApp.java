package dev.pgreclaim.bench;

import java.sql.Connection;
import java.sql.DriverManager;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

/**
 * Child program of the steady-overhead figure; the same program runs with and without the agent, and with the
 * wrapper driver's URL. Args:
 * {@code url user warmup count}, password in env {@code BENCH_PASSWORD}. Opens and closes {@code warmup} connections
 * untimed, then {@code count} timed ones; prints {@code SAMPLES_NS} with the open+close time of each, then
 * {@code DRIVER} and the class of the driver that served the URL.
 */
public final class ConnectLoopApp {
    private ConnectLoopApp() {
    }

    public static void main(String[] args) throws Exception {
        String url = args[0];
        Properties properties = new Properties();
        properties.setProperty("user", args[1]);
        properties.setProperty("password", System.getenv("BENCH_PASSWORD"));
        int warmup = Integer.parseInt(args[2]);
        int count = Integer.parseInt(args[3]);
        for (int i = 0; i < warmup; i++) {
            DriverManager.getConnection(url, properties).close();
        }
        List<Long> samples = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            long start = System.nanoTime();
            Connection connection = DriverManager.getConnection(url, properties);
            connection.close();
            samples.add(System.nanoTime() - start);
        }
        System.out.println("SAMPLES_NS" + Stats.joined(samples));
        System.out.println(BenchContext.DRIVER_TAG + " " + DriverManager.getDriver(url).getClass().getName());
    }
}
