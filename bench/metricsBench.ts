import {cpus, loadavg} from "node:os";
import {noMetrics} from "../src/core/Metrics.ts";
import type {Metrics} from "../src/core/Metrics.ts";
import {RwkvModel} from "../src/inference/RwkvModel.ts";
import {BotMetrics} from "../src/ops/BotMetrics.ts";
import {modelPath} from "../test/engine/engineFixtures.ts";
import type {Bench} from "./Bench.ts";
import {median} from "./timing.ts";

const runs = 7;
const callsPerRun = 100_000;
const decodeSteps = 200;

// What the runtime records per engine step: the step's time and size, and (per turn, amortised here) tokens.
function nsPerStep(metrics: Metrics): number {
    const started = performance.now();
    for (let i = 0; i < callsPerRun; i++) {
        metrics.engineStep(0.002 + (i % 7) * 0.001, 1 + (i % 9));
        metrics.tokens("generated", 1);
    }
    return (performance.now() - started) * 1e6 / callsPerRun;
}

/**
 * The cost of the metrics against their roof, an engine step: what recording adds to each step
 * (BotMetrics beside the no-op recorder), and one scrape, next to a decode step of the smallest
 * model there is (the 17 MB tiny fixture; a real model's step is hundreds of times longer).
 */
export const metricsBench: Bench = {
    name: "metrics",
    summary: "what recording metrics adds to an engine step, and a scrape, against a tiny-model decode step",
    async run() {
        console.log(`host: ${cpus()[0]?.model ?? "unknown cpu"}, ${cpus().length} cpus, load ${loadavg().map((n) => n.toFixed(1)).join(" ")}`);
        const model = await RwkvModel.load(modelPath("tiny-L3-C128-V1024.fp32.pth"), {precision: "fp32", threads: 1});
        const engine = await model.createEngine({slots: 1, threads: 1});
        try {
            const stepMs: number[] = [];
            for (let i = 0; i < decodeSteps; i++) {
                const started = performance.now();
                await engine.step([{slot: 0, tokens: [1 + (i % 100)], logits: "none"}]);
                stepMs.push(performance.now() - started);
            }
            const bot = new BotMetrics();
            bot.observe({load: () => ({residentConversations: 1, slots: 1, waitingTurns: 0, busyConversations: 0}), countConversations: async () => 1});
            const recorded: number[] = [];
            const baseline: number[] = [];
            for (let run = 0; run < runs; run++) {
                recorded.push(nsPerStep(bot));
                baseline.push(nsPerStep(noMetrics));
            }
            const scrapeMs: number[] = [];
            for (let run = 0; run < 20; run++) {
                const started = performance.now();
                await bot.text();
                scrapeMs.push(performance.now() - started);
            }
            const step = median(stepMs);
            const added = median(recorded) - median(baseline);
            console.log(`tiny-model decode step (1 slot, 1 thread): median ${step.toFixed(3)} ms over ${decodeSteps}`);
            console.log(`recording per step: ${median(recorded).toFixed(0)} ns (no-op recorder ${median(baseline).toFixed(0)} ns), added ${added.toFixed(0)} ns = ${(added / (step * 1e6)).toExponential(1)} of the step`);
            console.log(`one scrape of /metrics (text built): median ${median(scrapeMs).toFixed(2)} ms = ${(median(scrapeMs) / step).toFixed(1)} steps`);
        } finally {
            await engine.dispose();
            await model.dispose();
        }
    },
};
