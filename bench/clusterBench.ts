import {randomBytes} from "node:crypto";
import {cpus, loadavg} from "node:os";
import {fileURLToPath} from "node:url";
import {Redis} from "ioredis";
import pg from "pg";
import type {Adapter} from "../src/core/Adapter.ts";
import type {ReplySink} from "../src/core/ReplySink.ts";
import {conversationKey} from "../src/core/Turn.ts";
import type {Turn} from "../src/core/Turn.ts";
import {createApp} from "../src/app/createApp.ts";
import type {App} from "../src/app/createApp.ts";
import {loadConfig} from "../src/config/loadConfig.ts";
import {createLogger} from "../src/ops/createLogger.ts";
import type {Bench} from "./Bench.ts";
import {median} from "./timing.ts";

// The forwarding overhead of a deployment (README § Running several processes): two bot processes'
// apps (here in one Node process, each with its own engine, store and Redis connections) on one
// Postgres and one Redis. Process A serves the conversation; a turn is given either to A (local: A
// journals it in its own stream and answers it) or to B (forwarded: B looks up the holder and
// appends it to A's stream). The figure is the time from the turn's arrival to its first reply
// token, on the World fixture model (2 layers, 64 wide), where the engine's share is small.
const modelPath = fileURLToPath(new URL("../test/fixtures/models/world-L2-C64-V65536.bf16.pth", import.meta.url));
const serverUrl = process.env["BENCH_DATABASE_URL"] ?? process.env["TEST_DATABASE_URL"] ?? "postgresql://postgres@127.0.0.1:5432/postgres";
const redisUrl = process.env["REDIS_URL"] ?? "redis://127.0.0.1:6379";
const warmup = 10;
const timed = 200;

/** What every sink of the bench platform reports, by turn id: the platform's Web API, shared by both processes. */
class BenchPlatform {
    readonly #sinks = new Map<string, ReplySink>();

    /** A sink for turn `id` whose first text and completion resolve the returned promises. */
    expect(id: string): {firstToken: Promise<number>; done: Promise<void>} {
        let first: (at: number) => void = () => {};
        let done: () => void = () => {};
        const firstToken = new Promise<number>((resolve) => (first = resolve));
        const finished = new Promise<void>((resolve, reject) => {
            done = resolve;
            this.#sinks.set(id, {
                typing: async () => undefined,
                update: async () => first(performance.now()),
                complete: async () => {
                    first(performance.now());
                    done();
                },
                fail: async (error) => reject(error),
            });
        });
        return {firstToken, done: finished};
    }

    sink(id: string): ReplySink {
        const sink = this.#sinks.get(id);
        if (sink === undefined) throw new Error(`no sink for ${id}`);
        return sink;
    }

    adapter(): Adapter {
        return {
            platform: "bench", connected: true,
            start: async () => undefined, stop: async () => undefined,
            replySink: (address) => this.sink(address.turn ?? ""),
        };
    }
}

async function withDatabase<T>(run: (url: string) => Promise<T>): Promise<T> {
    const name = `rwkv_bench_${randomBytes(6).toString("hex")}`;
    const admin = new pg.Client({connectionString: serverUrl});
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    try {
        const url = new URL(serverUrl);
        url.pathname = `/${name}`;
        return await run(url.toString());
    } finally {
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await admin.end();
    }
}

function percentile(values: number[], p: number): number {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export const clusterBench: Bench = {
    name: "cluster",
    summary: "time to first reply token of a forwarded turn vs a local one (needs Postgres and Redis)",
    async run() {
        const clusterName = `rwkv-bench-${randomBytes(4).toString("hex")}`;
        const platform = new BenchPlatform();
        await withDatabase(async (databaseUrl) => {
            const config = loadConfig({
                RWKV_MODEL_PATH: modelPath, ENGINE_PRECISION: "fp32", ENGINE_BACKEND: "cpu", ENGINE_THREADS: "1", ENGINE_SLOTS: "2",
                SAMPLING_TEMPERATURE: "0", REPLY_MAX_TOKENS: "4", USER_COOLDOWN_MS: "0",
                DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, CLUSTER_NAME: clusterName,
            });
            const log = createLogger({level: "warn", format: "auto"});
            const apps: App[] = [];
            try {
                // One after the other: the first migrates the database.
                for (let i = 0; i < 2; i++) {
                    const app = await createApp(config, {log, adapters: () => [platform.adapter()]});
                    apps.push(app);
                    await app.start();
                }
                const [owner, other] = apps as [App, App];
                let n = 0;
                // Unrouted: a turn with no reply address is answered where it arrives, without Redis (the single-process path).
                const ask = async (via: App, routed = true): Promise<number> => {
                    const id = `turn-${n++}`;
                    const turn: Turn = {
                        id, platform: "bench", conversation: conversationKey("bench:one"), author: {id: "u", name: "u", isAdmin: false},
                        text: `message ${n % 7}`, receivedAt: Date.now(), signal: new AbortController().signal,
                        ...(routed ? {replyAddress: {turn: id}} : {}),
                    };
                    const {firstToken, done} = platform.expect(id);
                    const start = performance.now();
                    void via.handler(turn, platform.sink(id));
                    const at = await firstToken;
                    await done;
                    return at - start;
                };
                // The owner takes the conversation with the first turn.
                for (let i = 0; i < warmup; i++) {
                    await ask(owner);
                    await ask(other);
                }
                const unrouted: number[] = [];
                const local: number[] = [];
                const forwarded: number[] = [];
                // Interleaved, so all see the same machine.
                for (let i = 0; i < timed; i++) {
                    unrouted.push(await ask(owner, false));
                    local.push(await ask(owner));
                    forwarded.push(await ask(other));
                }
                const holder = await owner.store.leaseHolder("bench:one");
                const row = (name: string, values: number[]) =>
                    `| ${name} | ${median(values).toFixed(2)} ms | ${percentile(values, 99).toFixed(2)} ms |`;
                console.log(`host: ${cpus()[0]?.model ?? "unknown cpu"}, ${cpus().length} cpus, load average ${loadavg()[0]?.toFixed(1)}; Postgres ${new URL(serverUrl).host}, Redis ${new URL(redisUrl).host}`);
                console.log(`model: World fixture (L2 C64), fp32, greedy, replies of 4 tokens; ${timed} turns each way, interleaved, one conversation served by one process (${holder === null ? "none" : "held"})`);
                console.log("| turn | time to first token, p50 | p99 |");
                console.log("|---|---|---|");
                console.log(row("unrouted (answered where it arrives, no Redis)", unrouted));
                console.log(row("local (journaled in the owner's stream)", local));
                console.log(row("forwarded (holder looked up, appended to the owner's stream)", forwarded));
                console.log(`local ÷ unrouted: p50 ${(median(local) / median(unrouted)).toFixed(2)}, p99 ${(percentile(local, 99) / percentile(unrouted, 99)).toFixed(2)}`);
                console.log(`forwarded ÷ local: p50 ${(median(forwarded) / median(local)).toFixed(2)}, p99 ${(percentile(forwarded, 99) / percentile(local, 99)).toFixed(2)}; forwarding adds ${(median(forwarded) - median(local)).toFixed(2)} ms at p50`);
            } finally {
                for (const app of apps.reverse()) await app.stop();
                const redis = new Redis(redisUrl);
                const keys = await redis.keys(`${clusterName}:*`);
                if (keys.length > 0) await redis.del(...keys);
                redis.disconnect();
            }
        });
    },
};
