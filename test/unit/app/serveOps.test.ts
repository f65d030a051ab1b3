import {describe, expect, it} from "vitest";
import type {App} from "../../../src/app/createApp.ts";
import {serveOps} from "../../../src/app/serveOps.ts";
import {silentLog} from "../../helpers/testLoggers.ts";

describe("serveOps", () => {
    it("is off without METRICS_PORT", async () => {
        expect(await serveOps({logLevel: "info", logFormat: "json", metricsHost: "127.0.0.1"}, silentLog, () => null)).toBeNull();
    });

    it("answers before the model is loaded: alive, not ready, saying why; then the app's own answer", async () => {
        let app: App | null = null;
        const ops = await serveOps({logLevel: "info", logFormat: "json", metricsPort: 0, metricsHost: "127.0.0.1"}, silentLog, () => app);
        try {
            const url = (path: string) => `http://127.0.0.1:${ops!.server.port}${path}`;
            expect((await fetch(url("/healthz"))).status).toBe(200);
            const loading = await fetch(url("/readyz"));
            expect([loading.status, await loading.json()]).toEqual([503, {ready: false, reasons: ["the model is loading"]}]);
            app = {notReady: async () => []} as unknown as App;
            expect((await fetch(url("/readyz"))).status).toBe(200);
            expect(await (await fetch(url("/metrics"))).text()).toContain("# TYPE rwkv_turns_total counter");
        } finally {
            await ops?.server.close();
        }
    });
});
