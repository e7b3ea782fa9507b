package dev.pgreclaim.agent;

import dev.pgreclaim.metrics.ReclaimMetrics;
import dev.pgreclaim.reclaim.OpenHandler;
import dev.pgreclaim.reclaim.Reclaimer;
import java.util.Properties;
import java.util.function.Function;

/**
 * The handler behind {@link dev.pgreclaim.agent.bridge.ConnectBridge}: hands one exit of the woven {@code connect} to
 * the core's {@link OpenHandler}, which the wrapper driver uses too. The bridge's argument array is
 * {driver, url, info, result, thrown, round}.
 */
final class ConnectInterceptor implements Function<Object[], Object> {
    private final OpenHandler handler;

    ConnectInterceptor(Reclaimer reclaimer, ReclaimMetrics metrics) {
        this.handler = new OpenHandler(reclaimer, metrics);
    }

    @Override
    public Object apply(Object[] call) {
        return handler.onExit(call[0], (String) call[1], (Properties) call[2], call[3], (Throwable) call[4],
                (Object[]) call[5]) ? Boolean.TRUE : Boolean.FALSE;
    }
}
