import {existsSync, mkdirSync} from "node:fs";
import {cpus} from "node:os";
import {fileURLToPath} from "node:url";
import {engineCapabilities} from "../src/inference/engineCapabilities.ts";
import {measureReadBandwidth} from "../src/inference/measureReadBandwidth.ts";
import type {RwkvEngine} from "../src/inference/RwkvEngine.ts";
import type {Precision} from "../src/core/Precision.ts";
import {RwkvModel} from "../src/inference/RwkvModel.ts";
import {writeRandomModel} from "../tools/modelfile/randomModel.ts";
import type {Bench} from "./Bench.ts";
import {median, randomTokens, seconds} from "./timing.ts";

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

/** One decode figure of one precision: tokens/s and its ratio to the roof, each the median of paired samples. */
interface DecodeFigure {
    readonly tokensPerSecond: number;
    readonly bandwidth: number;
    readonly ratio: number;
}

/** The precisions measured side by side: the 16-bit path is the reference of the int8 figures. */
const benchPrecisions = ["16bit", "int8"] as const satisfies readonly Precision[];
type BenchPrecision = (typeof benchPrecisions)[number];
type PerPrecision<T> = Record<BenchPrecision, T>;

/**
 * Decode speed of `slots` slots advancing together on each engine, measured side by side with
 * the roof: each sample is one bandwidth pass immediately followed by a few timed steps on every
 * engine in turn, so all see the same machine (on a shared 2-core VM the load changes within
 * seconds); the ratios are medians of the samples' ratios, `versus16bit` of int8 ÷ 16bit.
 */
async function decodeFigures(engines: PerPrecision<RwkvEngine>, slots: number): Promise<PerPrecision<DecodeFigure> & {versus16bit: number}> {
    const step = (engine: RwkvEngine) => engine.step(Array.from({length: slots}, (_, slot) => ({slot, tokens: randomTokens(1, engine.info.nVocab)})));
    for (const precision of benchPrecisions) for (let i = 0; i < warmupSteps; i++) await step(engines[precision]);
    const samplesOf = {"16bit": [] as {speed: number; bandwidth: number; ratio: number}[], "int8": [] as {speed: number; bandwidth: number; ratio: number}[]};
    const versus: number[] = [];
    for (let sample = 0; sample < samples; sample++) {
        const bandwidth = await measureReadBandwidth(GiB, threads, 1);
        for (const precision of benchPrecisions) {
            const engine = engines[precision];
            const start = performance.now();
            for (let i = 0; i < stepsPerSample; i++) await step(engine);
            const speed = (slots * stepsPerSample) / ((performance.now() - start) / 1000);
            samplesOf[precision].push({speed, bandwidth, ratio: speed / ((slots * bandwidth) / engine.info.decodeBytesPerStep)});
        }
        versus.push(samplesOf.int8.at(-1)!.speed / samplesOf["16bit"].at(-1)!.speed);
    }
    const figure = (precision: BenchPrecision): DecodeFigure => ({
        tokensPerSecond: median(samplesOf[precision].map((s) => s.speed)),
        bandwidth: median(samplesOf[precision].map((s) => s.bandwidth)),
        ratio: median(samplesOf[precision].map((s) => s.ratio)),
    });
    return {"16bit": figure("16bit"), "int8": figure("int8"), versus16bit: median(versus)};
}

/** Prefill tokens/s of each engine, alternating the timed runs so both see the same machine. */
async function prefillTokensPerSecond(engines: PerPrecision<RwkvEngine>): Promise<PerPrecision<number>> {
    const prompt = randomTokens(promptTokens, engines["16bit"].info.nVocab);
    const once = (engine: RwkvEngine) => async () => {
        await engine.importState(0, null);
        await engine.step([{slot: 0, tokens: prompt, logits: "last"}]);
    };
    const timed = {"16bit": [] as number[], "int8": [] as number[]};
    for (const precision of benchPrecisions) await once(engines[precision])();
    for (let i = 0; i < 3; i++) {
        for (const precision of benchPrecisions) timed[precision].push(await seconds(once(engines[precision])));
    }
    return {"16bit": promptTokens / median(timed["16bit"]), "int8": promptTokens / median(timed.int8)};
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
    const loadStart = performance.now();
    const half = await RwkvModel.load(modelFile, {precision: "16bit", threads});
    const loadHalf = (performance.now() - loadStart) / 1000;
    const int8Start = performance.now();
    const int8 = await RwkvModel.load(modelFile, {precision: "int8", threads});
    const loadInt8 = (performance.now() - int8Start) / 1000;
    const models = {"16bit": half, "int8": int8};
    try {
        const engines = {
            "16bit": await half.createEngine({slots: Math.max(...slotCounts), threads, maxBatchTokens: promptTokens}),
            "int8": await int8.createEngine({slots: Math.max(...slotCounts), threads, maxBatchTokens: promptTokens}),
        };
        const decode = new Map<number, Awaited<ReturnType<typeof decodeFigures>>>();
        for (const slots of slotCounts) decode.set(slots, await decodeFigures(engines, slots));
        const prefill = await prefillTokensPerSecond(engines);
        const single = decode.get(1)!;
        const bandwidth = single["16bit"].bandwidth;
        const info = half.info;

        console.log(`host: ${cpus()[0]?.model ?? "unknown cpu"}, ${cpus().length} cpus; ${engineCapabilities().systemInfo}`);
        console.log(`model: World 0.4B shape (L${info.nLayer} C${info.nEmbd} H${info.nHead} F${info.dimFfn} V${info.nVocab}), random ${info.fileDtype}, ${threads} threads, kernel ${engineCapabilities().cpuKernel}`);
        for (const precision of benchPrecisions) {
            const {weightBytes, decodeBytesPerStep} = models[precision].info;
            console.log(`  ${precision}: weights ${(weightBytes / 1e6).toFixed(0)} MB, decode bytes per step ${(decodeBytesPerStep / 1e6).toFixed(1)} MB, load ${(precision === "16bit" ? loadHalf : loadInt8).toFixed(1)} s`);
        }
        console.log(`read bandwidth: ${(bandwidth / 1e9).toFixed(2)} GB/s (1 GiB buffer, ${threads} threads; median of the passes paired with the 1-slot samples)`);
        console.log(`each decode figure: median of ${samples} samples of (one bandwidth pass, then ${stepsPerSample} timed steps on each precision in turn); roof = slots × bandwidth ÷ that precision's bytes per step`);
        console.log("");
        const rows: string[][] = [["figure", "16bit", "roof ratio", "int8", "roof ratio", "int8 ÷ 16bit"]];
        for (const [slots, figure] of decode) {
            rows.push([
                slots === 1 ? "decode, 1 slot" : `decode, ${slots} slots (aggregate)`,
                format(figure["16bit"].tokensPerSecond, "tok/s"), figure["16bit"].ratio.toFixed(2),
                format(figure.int8.tokensPerSecond, "tok/s"), figure.int8.ratio.toFixed(2),
                figure.versus16bit.toFixed(2),
            ]);
        }
        rows.push([`prefill, ${promptTokens}-token prompt`, format(prefill["16bit"], "tok/s"), "", format(prefill.int8, "tok/s"), "", (prefill.int8 / prefill["16bit"]).toFixed(2)]);
        const widths = rows[0]!.map((_, column) => Math.max(...rows.map((cells) => cells[column]!.length)));
        for (const cells of rows) console.log(cells.map((cell, column) => cell.padEnd(widths[column]!)).join("  ").trimEnd());

        const scaling = (precision: BenchPrecision) => decode.get(8)![precision].tokensPerSecond / single[precision].tokensPerSecond;
        const floors: [string, number, number][] = [
            ["16bit decode 1 slot ≥ 0.85 × bandwidth roof", single["16bit"].ratio, 0.85],
            ["16bit decode 8 slots aggregate ≥ 3.5 × 1 slot", scaling("16bit"), 3.5],
            ["16bit prefill ≥ 2.5 × 1-slot decode", prefill["16bit"] / single["16bit"].tokensPerSecond, 2.5],
            ["int8 decode 1 slot ≥ 1.5 × 16bit", single.versus16bit, 1.5],
            ["int8 decode 1 slot ≥ 0.75 × int8 bandwidth roof", single.int8.ratio, 0.75],
            ["int8 decode 8 slots aggregate ≥ 2.5 × its 1 slot", scaling("int8"), 2.5],
            ["int8 prefill ≥ 1.0 × 16bit prefill", prefill.int8 / prefill["16bit"], 1.0],
        ];
        console.log("");
        for (const [what, ratio, floor] of floors) {
            console.log(`${ratio >= floor ? "PASS" : "FAIL"}  ${what}: ${ratio.toFixed(2)}`);
        }
        await Promise.all([engines["16bit"].dispose(), engines.int8.dispose()]);
    } finally {
        await Promise.all([half.dispose(), int8.dispose()]);
    }
}

/** Decode (1–16 slots) and prefill speed on the World 0.4B shape, 16bit and int8 side by side, against the memory-bandwidth roof. */
export const engineBench: Bench = {name: "engine", summary: "decode and prefill tokens/s vs the bandwidth roof", run};
