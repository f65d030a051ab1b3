import type {OpsConfig} from "../config/BotConfig.ts";
import type {Logger} from "../core/Logger.ts";
import {BotMetrics} from "../ops/BotMetrics.ts";
import {OpsServer} from "../ops/OpsServer.ts";
import type {App} from "./createApp.ts";

/** The metrics recorder and the endpoint serving it, when `METRICS_PORT` is set. */
export interface ServedOps {
    readonly metrics: BotMetrics;
    readonly server: OpsServer;
}

/**
 * Starts `/metrics`, `/healthz` and `/readyz` before the model loads (a load takes minutes, and
 * the process is alive meanwhile): until `app()` returns the composed bot, `/readyz` says the
 * model is loading. Null when metrics are off.
 */
export async function serveOps(config: OpsConfig, log: Logger, app: () => App | null): Promise<ServedOps | null> {
    if (config.metricsPort === undefined) return null;
    const metrics = new BotMetrics();
    const server = await OpsServer.start({
        host: config.metricsHost, port: config.metricsPort, metrics, log,
        notReady: async () => app()?.notReady() ?? ["the model is loading"],
    });
    return {metrics, server};
}
