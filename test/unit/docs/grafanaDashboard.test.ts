import {readFileSync} from "node:fs";
import {describe, expect, it} from "vitest";
import {BotMetrics} from "../../../src/ops/BotMetrics.ts";

interface Panel {
    title: string;
    targets: {expr: string}[];
}

const dashboard = JSON.parse(readFileSync(new URL("../../../docs/grafana/rwkv-bot.json", import.meta.url), "utf8")) as {panels: Panel[]};

describe("the Grafana dashboard (docs/grafana/rwkv-bot.json)", () => {
    it("queries only series the bot serves", async () => {
        const metrics = new BotMetrics();
        metrics.observe({load: () => ({residentConversations: 0, slots: 1, waitingTurns: 0, busyConversations: 0}), countConversations: async () => 0});
        const served = new Set((await metrics.registry.getMetricsAsJSON()).map((metric) => metric.name));
        const queried = dashboard.panels.flatMap((panel) => panel.targets.flatMap((target) => target.expr.match(/\brwkv_\w+/g) ?? []));
        expect(queried.length).toBeGreaterThan(10);
        // A histogram is queried through its `_bucket` series.
        expect(queried.map((name) => name.replace(/_bucket$/, "")).filter((name) => !served.has(name))).toEqual([]);
    });

    it("shows what an operator looks at first: turns a minute, time to first token, tok/s, the queue and checkpoints", () => {
        const expressions = (title: RegExp) => dashboard.panels.filter((panel) => title.test(panel.title)).flatMap((panel) => panel.targets.map((target) => target.expr));
        expect(expressions(/^Turns per minute/)).toEqual([expect.stringMatching(/rate\(rwkv_turns_total\{.*\) \* 60$/)]);
        expect(expressions(/^Time to first reply token/)).toEqual([
            expect.stringMatching(/^histogram_quantile\(0\.5, .*rwkv_first_reply_token_seconds_bucket/),
            expect.stringMatching(/^histogram_quantile\(0\.99, .*rwkv_first_reply_token_seconds_bucket/),
        ]);
        expect(expressions(/^Tokens per second/)).toEqual([expect.stringContaining("rate(rwkv_tokens_total")]);
        expect(expressions(/^Queue depth/).join(" ")).toContain("rwkv_queue_waiting_turns");
        expect(expressions(/^Checkpoint/).join(" ")).toContain("rwkv_checkpoint_seconds_bucket");
    });
});
