import {existsSync, mkdirSync} from "node:fs";
import {cpus} from "node:os";
import {fileURLToPath} from "node:url";
import {engineCapabilities} from "../src/inference/engineCapabilities.ts";
import {measureReadBandwidth} from "../src/inference/measureReadBandwidth.ts";
import type {RwkvEngine} from "../src/inference/RwkvEngine.ts";
import {RwkvModel} from "../src/inference/RwkvModel.ts";
import {writeRandomModel} from "../tools/modelfile/randomModel.ts";
import type {Bench} from "./Bench.ts";

// RWKV-5 World 0.4B's shape with random bf16 weights: speed depends on the
// shape, not the values. Generated once and cached.
const shape = {nLayer: 24, nEmbd: 1024, headSize: 64, dimFfn: 3584, nVocab: 65536};
const benchDir = fileURLToPath(new URL("../build/bench/", import.meta.url));
const modelFile = `${benchDir}world-0.4b-random.bf16.pth`;
const threads = 2;
const slotCounts = [1, 4, 8, 16];
const promptTokens = 512;
const warmupSteps = 2;
const samples = 7;
const stepsPerSample = 3;
const GiB = 1024 ** 3;

function median(values: number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    const middle = sorted.length >> 1;
    return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function randomTokens(count: number, nVocab: number): number[] {
    return Array.from({length: count}, () => Math.floor(Math.random() * nVocab));
}

/** One decode figure: tokens/s and its ratio to the roof, each the median of paired samples. */
interface DecodeFigure {
    readonly tokensPerSecond: number;
    readonly bandwidth: number;
    readonly ratio: number;
}

/**
 * Decode speed of `slots` slots advancing together, measured side by side with the roof: each
 * sample is one bandwidth pass immediately followed by a few timed steps, so both see the same
 * machine (on a shared 2-core VM the load changes within seconds); the ratio is the median of
 * the samples' ratios.
 */
async function decodeFigure(engine: RwkvEngine, slots: number): Promise<DecodeFigure> {
    const {nVocab, decodeBytesPerStep} = engine.info;
    const step = () => engine.step(Array.from({length: slots}, (_, slot) => ({slot, tokens: randomTokens(1, nVocab)})));
    for (let i = 0; i < warmupSteps; i++) await step();
    const speeds: number[] = [];
    const bandwidths: number[] = [];
    const ratios: number[] = [];
    for (let sample = 0; sample < samples; sample++) {
        const bandwidth = await measureReadBandwidth(GiB, threads, 1);
        const start = performance.now();
        for (let i = 0; i < stepsPerSample; i++) await step();
        const tokensPerSecond = (slots * stepsPerSample) / ((performance.now() - start) / 1000);
        speeds.push(tokensPerSecond);
        bandwidths.push(bandwidth);
        ratios.push(tokensPerSecond / ((slots * bandwidth) / decodeBytesPerStep));
    }
    return {tokensPerSecond: median(speeds), bandwidth: median(bandwidths), ratio: median(ratios)};
}

async function medianSeconds(run: () => Promise<unknown>, warmup: number, timed: number): Promise<number> {
    for (let i = 0; i < warmup; i++) await run();
    const seconds: number[] = [];
    for (let i = 0; i < timed; i++) {
        const start = performance.now();
        await run();
        seconds.push((performance.now() - start) / 1000);
    }
    return median(seconds);
}

async function prefillTokensPerSecond(engine: RwkvEngine): Promise<number> {
    const prompt = randomTokens(promptTokens, engine.info.nVocab);
    const seconds = await medianSeconds(
        async () => {
            await engine.importState(0, null);
            await engine.step([{slot: 0, tokens: prompt, logits: "last"}]);
        },
        1,
        3,
    );
    return promptTokens / seconds;
}

function format(value: number, unit: string): string {
    return `${value.toFixed(value < 100 ? 2 : 0)} ${unit}`;
}

async function run(): Promise<void> {
    if (!existsSync(modelFile)) {
        mkdirSync(benchDir, {recursive: true});
        console.log(`generating ${modelFile} (once)…`);
        await writeRandomModel(modelFile, shape);
    }
    const model = await RwkvModel.load(modelFile, {precision: "fast", threads});
    try {
        const {info} = model;
        const engine = await model.createEngine({slots: Math.max(...slotCounts), threads, maxBatchTokens: promptTokens});
        const decode = new Map<number, DecodeFigure>();
        for (const slots of slotCounts) decode.set(slots, await decodeFigure(engine, slots));
        const prefill = await prefillTokensPerSecond(engine);
        const single = decode.get(1)!.tokensPerSecond;
        const bandwidth = decode.get(1)!.bandwidth;

        console.log(`host: ${cpus()[0]?.model ?? "unknown cpu"}, ${cpus().length} cpus; ${engineCapabilities().systemInfo}`);
        console.log(`model: World 0.4B shape (L${info.nLayer} C${info.nEmbd} H${info.nHead} F${info.dimFfn} V${info.nVocab}), random ${info.fileDtype}, precision ${info.precision}, ${threads} threads, kernel ${engineCapabilities().cpuKernel}`);
        console.log(`read bandwidth: ${(bandwidth / 1e9).toFixed(2)} GB/s (1 GiB buffer, ${threads} threads; median of the passes paired with the 1-slot samples); decode bytes per step: ${(info.decodeBytesPerStep / 1e6).toFixed(1)} MB`);
        console.log(`each decode figure: median of ${samples} samples of (one bandwidth pass, then ${stepsPerSample} timed steps); roof = slots × bandwidth ÷ bytes per step`);
        console.log("");
        const rows: string[][] = [["figure", "measured", "roof", "ratio"]];
        for (const [slots, figure] of decode) {
            const roof = (slots * figure.bandwidth) / info.decodeBytesPerStep;
            rows.push([slots === 1 ? "decode, 1 slot" : `decode, ${slots} slots (aggregate)`, format(figure.tokensPerSecond, "tok/s"), format(roof, "tok/s"), figure.ratio.toFixed(2)]);
        }
        rows.push([`prefill, ${promptTokens}-token prompt`, format(prefill, "tok/s"), format(single, "tok/s (1-slot decode)"), (prefill / single).toFixed(2)]);
        const widths = rows[0]!.map((_, column) => Math.max(...rows.map((cells) => cells[column]!.length)));
        for (const cells of rows) console.log(cells.map((cell, column) => cell.padEnd(widths[column]!)).join("  ").trimEnd());

        const floors: [string, number, number][] = [
            ["decode 1 slot ≥ 0.85 × bandwidth roof", decode.get(1)!.ratio, 0.85],
            ["decode 8 slots aggregate ≥ 2.5 × 1 slot", decode.get(8)!.tokensPerSecond / single, 2.5],
            ["prefill ≥ 2.5 × 1-slot decode", prefill / single, 2.5],
        ];
        console.log("");
        for (const [what, ratio, floor] of floors) {
            console.log(`${ratio >= floor ? "PASS" : "FAIL"}  ${what}: ${ratio.toFixed(2)}`);
        }
        await engine.dispose();
    } finally {
        await model.dispose();
    }
}

/** Decode (1–16 slots) and prefill speed on the World 0.4B shape, against the memory-bandwidth roof. */
export const engineBench: Bench = {name: "engine", summary: "decode and prefill tokens/s vs the bandwidth roof", run};
