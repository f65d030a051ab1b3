import {createServer} from "node:http";
import type {Server} from "node:http";
import type {AddressInfo} from "node:net";
import type {Logger} from "../core/Logger.ts";
import {ConfigError} from "../errors/BotError.ts";
import type {BotMetrics} from "./BotMetrics.ts";

/** Options of {@link OpsServer.start}. */
export interface OpsServerOptions {
    /** `METRICS_HOST`; 0.0.0.0 exposes it beyond the machine. */
    readonly host: string;
    /** `METRICS_PORT`; 0 picks a free port (tests). */
    readonly port: number;
    readonly metrics: BotMetrics;
    /** Why the bot is not ready; empty when it is. */
    readonly notReady: () => Promise<string[]>;
    readonly log: Logger;
}

/**
 * The operator's HTTP endpoint: `/metrics` (Prometheus exposition), `/healthz` (the process
 * answers) and `/readyz` (200 when ready, 503 with the reasons when not), each GET only.
 */
export class OpsServer {
    readonly #server: Server;

    private constructor(server: Server) {
        this.#server = server;
    }

    /** Listens; rejects with `config/metrics_port` when the address cannot be bound. */
    static async start(options: OpsServerOptions): Promise<OpsServer> {
        const server = createServer((request, response) => {
            const path = new URL(request.url ?? "/", "http://localhost").pathname;
            const send = (status: number, contentType: string, body: string) => {
                response.writeHead(status, {"content-type": contentType, "cache-control": "no-store"});
                response.end(body);
            };
            if (request.method !== "GET" && request.method !== "HEAD") return send(405, "text/plain", "GET only\n");
            const answer = async (): Promise<void> => {
                if (path === "/metrics") {
                    const {body, contentType} = await options.metrics.text();
                    return send(200, contentType, body);
                }
                if (path === "/healthz") return send(200, "text/plain", "ok\n");
                if (path === "/readyz") {
                    const reasons = await options.notReady();
                    return send(reasons.length === 0 ? 200 : 503, "application/json", `${JSON.stringify({ready: reasons.length === 0, reasons})}\n`);
                }
                send(404, "text/plain", "not found: /metrics, /healthz, /readyz\n");
            };
            answer().catch((error: unknown) => {
                options.log.error(`ops endpoint ${path} failed`, error);
                if (!response.headersSent) send(500, "text/plain", "internal error\n");
                else response.destroy();
            });
        });
        await new Promise<void>((resolve, reject) => {
            server.once("error", (error) => reject(new ConfigError("config/metrics_port", `cannot serve metrics on ${options.host}:${options.port}: ${error.message} (set METRICS_PORT or METRICS_HOST)`, {cause: error})));
            server.listen(options.port, options.host, resolve);
        });
        const {address, port} = server.address() as AddressInfo;
        options.log.info(`metrics and health checks on http://${address.includes(":") ? `[${address}]` : address}:${port}/metrics, /healthz, /readyz`);
        return new OpsServer(server);
    }

    /** The bound port. */
    get port(): number {
        return (this.#server.address() as AddressInfo).port;
    }

    async close(): Promise<void> {
        this.#server.closeAllConnections();
        await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    }
}
