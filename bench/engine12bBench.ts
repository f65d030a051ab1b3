import {existsSync, mkdirSync, readFileSync, statfsSync, writeFileSync} from "node:fs";
import {cpus} from "node:os";
import {fileURLToPath} from "node:url";
import {engineCapabilities} from "../src/inference/engineCapabilities.ts";
import {RwkvModel} from "../src/inference/RwkvModel.ts";
import {writeRandomModel} from "../tools/modelfile/randomModel.ts";
import type {Bench} from "./Bench.ts";
import {randomTokens, seconds} from "./timing.ts";

// The Mobius 12B chat model's shape (docs/rwkv5.md §1) with random bf16 weights, ~23 GB on disk:
// written once and cached. Loaded with int8 on this host, which cannot hold it in 16 bits.
const shape = {nLayer: 32, nEmbd: 5120, headSize: 64, dimFfn: 17920, nVocab: 65536};
const benchDir = fileURLToPath(new URL("../build/bench/", import.meta.url));
const modelFile = `${benchDir}mobius-12b-random.bf16.pth`;
const fileBytes = 23.3e9;
const threads = 2;
const promptTokens = 64;
const steps = 3;
const rssFloorBytes = 14e9;

/** The process's peak resident set (VmHWM), in bytes. */
function peakRss(): number {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync("/proc/self/status", "utf8"));
    return match === null ? Number.NaN : Number(match[1]) * 1024;
}

/** Aggregate tokens/s of `slots` slots decoding together, after one warm-up step. */
async function decodeRate(engine: Awaited<ReturnType<RwkvModel["createEngine"]>>, slots: number, nVocab: number): Promise<number> {
    const step = () => engine.step(Array.from({length: slots}, (_, slot) => ({slot, tokens: randomTokens(1, nVocab)})));
    await step();
    const elapsed = await seconds(async () => {
        for (let i = 0; i < steps; i++) await step();
    });
    return (slots * steps) / elapsed;
}

async function run(): Promise<void> {
    if (!existsSync(modelFile)) {
        mkdirSync(benchDir, {recursive: true});
        const {bavail, bsize} = statfsSync(benchDir);
        if (bavail * bsize < fileBytes * 1.05) {
            throw new Error(`engine12b needs ${(fileBytes / 1e9).toFixed(0)} GB free under ${benchDir} for its model file; ${(bavail * bsize / 1e9).toFixed(0)} GB are`);
        }
        console.log(`generating ${modelFile} (once, ~${(fileBytes / 1e9).toFixed(0)} GB)…`);
        console.log(`  written in ${(await seconds(() => writeRandomModel(modelFile, shape))).toFixed(0)} s`);
    }
    // The peak from here on: the file's generation above is not the load's.
    writeFileSync("/proc/self/clear_refs", "5");
    let model: RwkvModel | undefined;
    const load = await seconds(async () => {
        model = await RwkvModel.load(modelFile, {precision: "int8", threads});
    });
    const loaded = model!;
    const rssAfterLoad = peakRss();
    try {
        const engine = await loaded.createEngine({slots: 4, threads, maxBatchTokens: promptTokens});
        const {nVocab} = loaded.info;
        const one = await decodeRate(engine, 1, nVocab);
        const four = await decodeRate(engine, 4, nVocab);
        const prompt = randomTokens(promptTokens, nVocab);
        const prefill = promptTokens / await seconds(() => engine.step([{slot: 0, tokens: prompt, logits: "last"}]));
        const rss = peakRss();
        const info = loaded.info;
        console.log(`host: ${cpus()[0]?.model ?? "unknown cpu"}, ${cpus().length} cpus; ${engineCapabilities().systemInfo}`);
        console.log(`model: 12B shape (L${info.nLayer} C${info.nEmbd} H${info.nHead} F${info.dimFfn} V${info.nVocab}), random ${info.fileDtype}, int8, ${threads} threads`);
        console.log(`load: ${load.toFixed(1)} s; weights ${(info.weightBytes / 1e9).toFixed(2)} GB; decode bytes per step ${(info.decodeBytesPerStep / 1e9).toFixed(2)} GB`);
        console.log(`peak RSS: ${(rssAfterLoad / 1e9).toFixed(2)} GB after the load, ${(rss / 1e9).toFixed(2)} GB at the end`);
        console.log(`decode: 1 slot ${one.toFixed(2)} tok/s, 4 slots ${four.toFixed(2)} tok/s (aggregate; ${steps} steps each after a warm-up)`);
        console.log(`prefill: ${prefill.toFixed(2)} tok/s (${promptTokens}-token prompt)`);
        console.log(`${rss <= rssFloorBytes ? "PASS" : "FAIL"}  peak RSS ≤ ${rssFloorBytes / 1e9} GB: ${(rss / 1e9).toFixed(2)} GB`);
        await engine.dispose();
    } finally {
        await loaded.dispose();
    }
}

/** The 12B chat model's shape under int8 on this host: load time, peak RSS, decode and prefill speed. */
export const engine12bBench: Bench = {name: "engine12b", summary: "the 12B shape under int8: load, peak RSS, decode and prefill (writes a ~23 GB file once)", run};
