import {existsSync, mkdirSync, mkdtempSync, rmSync} from "node:fs";
import os from "node:os";
import path from "node:path";
import {fileURLToPath} from "node:url";
import pg from "pg";
import {RwkvModel} from "../src/inference/RwkvModel.ts";
import {writeRandomModel} from "../tools/modelfile/randomModel.ts";
import {EngineSlotReplayer} from "../src/session/EngineSlotReplayer.ts";
import {prismaCheckpointStateReader} from "../src/store/db/createStoreClient.ts";
import {openDatabase} from "../src/store/db/openDatabase.ts";
import type {Database} from "../src/store/db/openDatabase.ts";
import {PrismaStateStore} from "../src/store/PrismaStateStore.ts";
import {decodeSnapshot, encodeSnapshot} from "../src/store/snapshotCodec.ts";
import {stateElementCount} from "../src/store/StateDescriptor.ts";
import type {Bench} from "./Bench.ts";

// The 12B model's state (docs/rwkv5.md §7: L32, C5120, N64 → 43.3 MB fp32) against
// the cost it saves: replaying the logged tokens on the CPU engine, measured
// on the World 0.4B shape (the engine bench's model). A 12B replay is ~30×
// slower still, so the ratio to the 0.4B replay is a lower bound.
const descriptor12b = {modelId: "1".repeat(64), nLayer: 32, nEmbd: 5120, nHead: 80, headSize: 64};
const replayShape = {nLayer: 24, nEmbd: 1024, headSize: 64, dimFfn: 3584, nVocab: 65536};
const replayModelFile = fileURLToPath(new URL("../build/bench/world-0.4b-random.bf16.pth", import.meta.url));
const serverUrl = process.env.TEST_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
const reps = 5;
const threads = 2;
const replayTokens = 16384;
const replayChunk = 512;
// The floor (issue): restoring from Postgres ≤ 1.5 s and ≥ 10× faster than replaying 16k tokens.
const restoreFloorSeconds = 1.5;
const replayRatioFloor = 10;

function median(values: number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[sorted.length >> 1]!;
}

/** A state with RWKV-like magnitudes: att_x/ffn_x around ±3, S up to ±80. */
function syntheticState(): Float32Array {
    const state = new Float32Array(stateElementCount(descriptor12b));
    let seed = 7;
    for (let i = 0; i < state.length; i++) {
        seed = (seed * 1664525 + 1013904223) >>> 0;
        const u = seed / 2 ** 32 - 0.5;
        state[i] = u * u * u * 640;
    }
    return state;
}

interface StoreTimes {
    /** Median seconds of a checkpoint: encode + INSERT in a transaction + retention. */
    write: number;
    /** Median seconds of a restore plan: metadata + blob read + checksum + decode + log read. */
    restore: number;
    /** The same restore reading the blob through Prisma (hex text): the reference. */
    restoreViaPrisma: number;
}

async function timeStore(db: Database, state: Float32Array, label: string): Promise<StoreTimes> {
    const store = new PrismaStateStore(db, {owner: "bench", keepCheckpoints: 2});
    const throughPrisma = new PrismaStateStore({...db, readCheckpointState: prismaCheckpointStateReader(db.prisma)}, {owner: "bench"});
    const key = "bench:state";
    await store.openConversation(key, {platform: "console", chatFormat: "chat"});
    await store.acquireLease(key);
    await store.appendTurn(key, {epoch: 0, role: "user", text: "x", tokens: [1]});
    const writes: number[] = [];
    const restores: number[] = [];
    const prismaRestores: number[] = [];
    const timed = async (into: number[], run: () => Promise<unknown>) => {
        const start = performance.now();
        await run();
        into.push((performance.now() - start) / 1000);
    };
    const restoreWith = async (reader: PrismaStateStore) => {
        const plan = await reader.planRestore(key, descriptor12b);
        if (plan.checkpoint === null) throw new Error(`bench: checkpoint not restored (${plan.refusals.map((r) => r.message).join("; ")})`);
    };
    for (let i = 0; i < reps; i++) {
        await timed(writes, () => store.checkpoint(key, {epoch: 0, logSeq: 1, state, descriptor: descriptor12b, reason: "eviction"}));
        await timed(restores, () => restoreWith(store));
        await timed(prismaRestores, () => restoreWith(throughPrisma));
        const last = (values: number[]) => `${values.at(-1)!.toFixed(3)} s`;
        console.log(`  ${label} ${i + 1}/${reps}: write ${last(writes)}, restore ${last(restores)}, restore via Prisma ${last(prismaRestores)}`);
    }
    return {write: median(writes), restore: median(restores), restoreViaPrisma: median(prismaRestores)};
}

async function onPostgres(state: Float32Array): Promise<StoreTimes> {
    const name = `rwkv_bench_${process.pid}`;
    const admin = new pg.Client({connectionString: serverUrl});
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${name}`);
    await admin.query(`CREATE DATABASE ${name}`);
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    const db = await openDatabase({url: url.toString()});
    try {
        return await timeStore(db, state, "Postgres");
    } finally {
        await db.close();
        await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
        await admin.end();
    }
}

async function onPglite(state: Float32Array): Promise<StoreTimes> {
    const dir = mkdtempSync(path.join(os.tmpdir(), "rwkv-bench-"));
    const db = await openDatabase({dataDir: path.join(dir, "db")});
    try {
        return await timeStore(db, state, "PGlite");
    } finally {
        await db.close();
        rmSync(dir, {recursive: true, force: true});
    }
}

/** Seconds to replay 1k and 16k logged tokens into a zero state, as a restore without a checkpoint does. */
async function replaySeconds(): Promise<{first1k: number, all: number}> {
    if (!existsSync(replayModelFile)) {
        mkdirSync(path.dirname(replayModelFile), {recursive: true});
        console.log(`  generating ${replayModelFile} (once)…`);
        await writeRandomModel(replayModelFile, replayShape);
    }
    const model = await RwkvModel.load(replayModelFile, {precision: "16bit", threads});
    const engine = await model.createEngine({slots: 1, threads, maxBatchTokens: replayChunk});
    try {
        const replayer = new EngineSlotReplayer(engine, 0, replayChunk);
        const tokens = Uint32Array.from({length: replayTokens}, (_, i) => (i * 7919) % replayShape.nVocab);
        await replayer.load(null);
        let first1k = 0;
        const start = performance.now();
        for (let done = 0; done < tokens.length; done += replayChunk) {
            await replayer.feed(tokens.subarray(done, done + replayChunk));
            const seconds = (performance.now() - start) / 1000;
            if (done + replayChunk === 1024) first1k = seconds;
            if ((done + replayChunk) % 2048 === 0) console.log(`  replay: ${done + replayChunk}/${tokens.length} tokens, ${seconds.toFixed(1)} s`);
        }
        return {first1k, all: (performance.now() - start) / 1000};
    } finally {
        await model.dispose();
    }
}

function printTable(rows: string[][]): void {
    const widths = rows[0]!.map((_, column) => Math.max(...rows.map((cells) => cells[column]!.length)));
    for (const cells of rows) console.log(cells.map((cell, column) => cell.padEnd(widths[column]!)).join("  ").trimEnd());
}

async function run(): Promise<void> {
    const state = syntheticState();
    const half = decodeSnapshot(encodeSnapshot(state, descriptor12b, "fp16"), descriptor12b);
    if (!half.ok) throw new Error(half.message);
    let maxAbs = 0;
    let maxRel = 0;
    for (let i = 0; i < state.length; i++) {
        const abs = Math.abs(half.state[i]! - state[i]!);
        maxAbs = Math.max(maxAbs, abs);
        if (Math.abs(state[i]!) > 2 ** -14) maxRel = Math.max(maxRel, abs / Math.abs(state[i]!));
    }
    console.log(`state: 12B shape L32 C5120 H80×64, ${(state.byteLength / 1e6).toFixed(1)} MB fp32; fp16 codec: max |Δ| ${maxAbs.toExponential(2)} (|x| ≤ 80), max relative ${maxRel.toExponential(2)} (normal range; bound 2^-11 = 4.88e-4)`);
    console.log(`host: ${os.cpus()[0]?.model ?? "unknown cpu"}, ${os.cpus().length} cpus, load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
    const server = await onPostgres(state);
    const embedded = await onPglite(state);
    console.log(`  replaying ${replayTokens} tokens on the World 0.4B shape (random bf16, precision 16bit, ${threads} threads, chunks of ${replayChunk})…`);
    const replay = await replaySeconds();

    const s = (seconds: number) => `${seconds.toFixed(3)} s`;
    const times = (ratio: number) => `${ratio.toFixed(1)}×`;
    console.log("");
    console.log(`median of ${reps}; restore = metadata + blob read + checksum + decode + log read; replay from the zero state`);
    printTable([
        ["figure", "measured", "vs replay 16k"],
        ["checkpoint write, Postgres", s(server.write), ""],
        ["restore, Postgres (blob by COPY binary)", s(server.restore), `${times(replay.all / server.restore)} faster`],
        ["restore, Postgres (blob through Prisma, reference)", s(server.restoreViaPrisma), `${times(replay.all / server.restoreViaPrisma)} faster`],
        ["checkpoint write, PGlite (embedded, on disk)", s(embedded.write), ""],
        ["restore, PGlite (blob by COPY binary)", s(embedded.restore), `${times(replay.all / embedded.restore)} faster`],
        ["restore, PGlite (blob through Prisma + fast codec, reference)", s(embedded.restoreViaPrisma), `${times(replay.all / embedded.restoreViaPrisma)} faster`],
        ["replay 1k tokens (0.4B shape)", s(replay.first1k), ""],
        ["replay 16k tokens (0.4B shape)", s(replay.all), ""],
    ]);
    console.log(`restore with the COPY blob read vs through Prisma: Postgres ${times(server.restoreViaPrisma / server.restore)}, PGlite ${times(embedded.restoreViaPrisma / embedded.restore)} faster`);
    console.log("");
    const floors: [string, boolean][] = [
        [`restore of a 43 MB checkpoint from Postgres ≤ ${restoreFloorSeconds} s: ${s(server.restore)}`, server.restore <= restoreFloorSeconds],
        [`restore from Postgres ≥ ${replayRatioFloor}× faster than replaying 16k tokens: ${times(replay.all / server.restore)}`, replay.all / server.restore >= replayRatioFloor],
    ];
    for (const [what, met] of floors) console.log(`${met ? "PASS" : "FAIL"}  ${what}`);
}

/** Checkpoint write/restore of a 12B-sized state on Postgres and PGlite, against replaying 1k/16k tokens. */
export const storeBench: Bench = {name: "store", summary: "43 MB checkpoint write/restore vs token replay", run};
