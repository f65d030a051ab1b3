import {afterEach, describe, expect, it} from "vitest";
import {ConfigError} from "../../../src/errors/BotError.ts";
import {BotMetrics} from "../../../src/ops/BotMetrics.ts";
import {OpsServer} from "../../../src/ops/OpsServer.ts";
import {recordingLog} from "../../helpers/testLoggers.ts";

const servers: OpsServer[] = [];
afterEach(async () => {
    for (const server of servers.splice(0)) await server.close();
});

async function start(notReady: () => Promise<string[]>, log = recordingLog()): Promise<{url: (path: string) => string; log: typeof log; server: OpsServer}> {
    const server = await OpsServer.start({host: "127.0.0.1", port: 0, metrics: new BotMetrics(), notReady, log});
    servers.push(server);
    return {url: (path) => `http://127.0.0.1:${server.port}${path}`, log, server};
}

describe("OpsServer", () => {
    it("answers /readyz with the reasons, 503 until there are none", async () => {
        let reasons = ["the model is loading"];
        const {url, log} = await start(async () => reasons);
        const unready = await fetch(url("/readyz"));
        expect([unready.status, await unready.json()]).toEqual([503, {ready: false, reasons: ["the model is loading"]}]);
        reasons = [];
        const ready = await fetch(url("/readyz"));
        expect([ready.status, await ready.json()]).toEqual([200, {ready: true, reasons: []}]);
        expect(log.entries.map((entry) => entry.message)).toEqual([expect.stringMatching(/^metrics and health checks on http:\/\/127\.0\.0\.1:\d+\/metrics/)]);
    });

    it("refuses other paths and methods, and answers 500 (logging why) when a check throws", async () => {
        const {url, log} = await start(async () => {
            throw new Error("probe exploded");
        });
        expect((await fetch(url("/nothing"))).status).toBe(404);
        expect((await fetch(url("/metrics"), {method: "POST"})).status).toBe(405);
        expect((await fetch(url("/readyz"))).status).toBe(500);
        expect(log.entries.at(-1)).toMatchObject({level: "error", message: "ops endpoint /readyz failed", error: new Error("probe exploded")});
        expect((await fetch(url("/healthz"))).status).toBe(200);
    });

    it("names METRICS_PORT when its port is taken", async () => {
        const {server} = await start(async () => []);
        const error = await OpsServer.start({host: "127.0.0.1", port: server.port, metrics: new BotMetrics(), notReady: async () => [], log: recordingLog()}).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ConfigError);
        expect(error).toMatchObject({code: "config/metrics_port", message: expect.stringContaining("METRICS_PORT")});
    });
});
