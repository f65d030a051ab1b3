import {existsSync, mkdirSync} from "node:fs";
import {cpus} from "node:os";
import {fileURLToPath} from "node:url";
import type {ReplySink} from "../src/core/ReplySink.ts";
import {conversationKey} from "../src/core/Turn.ts";
import {createApp} from "../src/app/createApp.ts";
import type {App} from "../src/app/createApp.ts";
import {loadConfig} from "../src/config/loadConfig.ts";
import {engineSampling} from "../src/inference/EngineSampling.ts";
import type {StepItem} from "../src/core/Stepper.ts";
import type {SamplingOptions} from "../src/inference/SamplingOptions.ts";
import {seededUniform} from "../src/inference/seededUniform.ts";
import {writeRandomModel} from "../tools/modelfile/randomModel.ts";
import {chatFormats} from "../src/session/chatFormats.ts";
import {Tokenizer} from "../src/inference/Tokenizer.ts";
import {worldVocabPath} from "../src/inference/worldVocab.ts";
import type {Bench} from "./Bench.ts";
import {createLogger} from "../src/ops/createLogger.ts";

// The engine bench's model (World 0.4B shape, random bf16 weights), run by the whole runtime:
// router, scheduler, batching dispatcher, streaming, commits to an in-memory database. Chat
// sampling (temperature 1, top-p 0.3, the chat penalties) in the engine, as in production; random
// weights give near-flat distributions, whose top-p cut keeps tens of thousands of ids: a sampling
// cost a trained model's peaked rows never have, paid by the raw steps too.
const shape = {nLayer: 24, nEmbd: 1024, headSize: 64, dimFfn: 3584, nVocab: 65536};
const benchDir = fileURLToPath(new URL("../build/bench/", import.meta.url));
const modelFile = `${benchDir}world-0.4b-random.bf16.pth`;
const threads = 2;
// BENCH_BACKEND=cuda (scripts/gpu-check.sh) runs the same on the GPU, up to 64 conversations.
const backend = process.env["BENCH_BACKEND"] === "cuda" ? "cuda" : "cpu";
const conversationCounts = backend === "cuda" ? [1, 8, 32, 64] : [1, 8, 32];
const floorConversations = conversationCounts.at(-1)!;
const replyTokens = 64;
const maxBatchTokens = 512;
const rawWarmup = 2;
const rawTimed = 9;

/** Every token with a newline: banning them keeps each reply at exactly replyTokens (no "\n\n" stop), like the raw steps. */
function newlineTokens(tokenizer: Tokenizer): number[] {
    const ids: number[] = [];
    for (let id = 1; id < tokenizer.vocabSize; id++) if (tokenizer.tokenBytes(id)?.includes(10) === true) ids.push(id);
    return ids;
}

function median(values: number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    const middle = sorted.length >> 1;
    return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const quietSink: ReplySink = {typing: async () => undefined, update: async () => undefined, complete: async () => undefined, fail: async (error) => {
    throw error;
}};

/** The question of conversation `i`: the same length for every conversation, so prompts batch like the raw steps. */
function question(i: number, round: number): string {
    return `question ${String(i).padStart(2, "0")} of round ${round}`;
}

/**
 * The raw engine doing the work of one round, step by step at the same batch size: the prefill
 * steps of every prompt, `replyTokens` decode steps, one step of the closing "\n\n". Seconds.
 */
async function rawSeconds(app: App, slots: number, tokenizer: Tokenizer, sampling: SamplingOptions): Promise<number> {
    const promptTokens = tokenizer.encode(chatFormats.chat.userTurn(question(0, 2))).length;
    const params = engineSampling(sampling, app.engine.info.nVocab);
    const random = seededUniform(1);
    const batch = (tokens: number): StepItem[] => Array.from({length: slots}, (_, slot) => ({
        slot, tokens: Array.from({length: tokens}, (_, i) => 1 + ((slot * 7 + i) % 200)), logits: "none", sample: {params, uniform: random()},
    }));
    const time = async (tokens: number) => {
        const start = performance.now();
        await app.engine.step(batch(tokens));
        return (performance.now() - start) / 1000;
    };
    for (let i = 0; i < rawWarmup; i++) await time(1);
    const decode: number[] = [];
    for (let i = 0; i < rawTimed; i++) decode.push(await time(1));
    // The prompts go in slices that keep each step under the batch budget, as the runtime's do.
    const slice = Math.floor(maxBatchTokens / slots);
    let prefill = 0;
    for (let fed = 0; fed < promptTokens; fed += slice) prefill += await time(Math.min(slice, promptTokens - fed));
    return prefill + replyTokens * median(decode) + await time(2);
}

/** `count` conversations each asking one question at once; generated tokens/s of the whole runtime. */
async function runtimeRound(app: App, count: number, round: number): Promise<{seconds: number, steps: number}> {
    const {stats} = app.scheduler.dispatcher;
    const steps = stats.steps;
    const start = performance.now();
    await Promise.all(Array.from({length: count}, (_, i) => app.handler({
        id: `${count}-${round}-${i}`, platform: "console", conversation: conversationKey(`bench:${count}:${i}`),
        author: {id: `user-${i}`, name: "bench", isAdmin: false}, text: question(i, round),
        receivedAt: Date.now(), signal: new AbortController().signal,
    }, quietSink)));
    return {seconds: (performance.now() - start) / 1000, steps: stats.steps - steps};
}

async function run(): Promise<void> {
    mkdirSync(benchDir, {recursive: true});
    if (!existsSync(modelFile)) {
        console.log(`generating ${modelFile} (once)…`);
        await writeRandomModel(modelFile, shape);
    }
    const tokenizer = await Tokenizer.load(worldVocabPath);
    const config = loadConfig({
        RWKV_MODEL_PATH: modelFile, RWKV_VOCAB: worldVocabPath, ENGINE_PRECISION: "16bit", ENGINE_BACKEND: backend, ENGINE_THREADS: String(threads),
        ENGINE_SLOTS: String(Math.max(...conversationCounts)), ENGINE_MAX_BATCH_TOKENS: String(maxBatchTokens), BOT_DATA_DIR: "memory://",
        REPLY_MAX_TOKENS: String(replyTokens), USER_COOLDOWN_MS: "0", SAMPLING_TEMPERATURE: "1", SAMPLING_TOP_P: "0.3", CHECKPOINT_EVERY_TOKENS: "1000000",
    });
    const sampling = {...config.reply.sampling, bannedTokens: [0, ...newlineTokens(tokenizer)]};
    const app = await createApp({...config, reply: {...config.reply, sampling}}, {
        log: createLogger({level: "warn", format: "auto"}),
    });
    try {
        console.log(`host: ${cpus()[0]?.model ?? "unknown cpu"}, ${cpus().length} cpus; ${threads} engine threads; backend ${app.engine.info.backend}`);
        console.log(`model: World 0.4B shape, random bf16, precision 16bit; replies of ${replyTokens} tokens, sampled in the engine (temperature 1, top-p 0.3, the chat penalties), World vocabulary, in-memory database`);
        console.log("raw engine steps: the same work (the prefill steps of every prompt, the decode steps with the same sampling, the closing step) as bare engine.step calls");
        console.log("");
        const rows: string[][] = [["conversations", "runtime", "raw engine steps", "ratio", "steps (ideal)"]];
        const ratios = new Map<number, number>();
        for (const count of conversationCounts) {
            // The first round opens the conversations (database rows, slots); the timed one is a
            // second turn of each, as in a running chat.
            await runtimeRound(app, count, 1);
            const runtime = await runtimeRound(app, count, 2);
            const raw = await rawSeconds(app, count, tokenizer, sampling);
            const tokens = count * replyTokens;
            ratios.set(count, raw / runtime.seconds);
            rows.push([String(count), `${(tokens / runtime.seconds).toFixed(1)} tok/s`, `${(tokens / raw).toFixed(1)} tok/s`, (raw / runtime.seconds).toFixed(2), `${runtime.steps} (${replyTokens + 2})`]);
        }
        const widths = rows[0]!.map((_, column) => Math.max(...rows.map((cells) => cells[column]!.length)));
        for (const cells of rows) console.log(cells.map((cell, column) => cell.padEnd(widths[column]!)).join("  ").trimEnd());
        const ratio = ratios.get(floorConversations)!;
        console.log("");
        console.log(`${ratio >= 0.9 ? "PASS" : "FAIL"}  runtime ≥ 0.9 × raw engine step throughput at ${floorConversations} conversations (${backend}): ${ratio.toFixed(2)}`);
    } finally {
        await app.stop();
    }
}

/** Aggregate tokens/s of the whole runtime at 1, 8 and 32 conversations, against raw engine steps of the same batch size and work. */
export const runtimeBench: Bench = {name: "runtime", summary: "whole-runtime tokens/s vs raw engine steps (1, 8, 32 conversations; 64 too with BENCH_BACKEND=cuda)", run};
