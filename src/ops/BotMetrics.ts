import {basename} from "node:path";
import {setTimeout as sleep} from "node:timers/promises";
import {collectDefaultMetrics, Counter, Gauge, Histogram, Registry} from "prom-client";
import type {Metrics, TurnOutcome} from "../core/Metrics.ts";
import type {ModelInfo} from "../core/ModelInfo.ts";

/** The figures a scrape reads from the running bot (the scheduler's load, the store's count). */
export interface LoadSource {
    load(): {residentConversations: number; slots: number; waitingTurns: number; busyConversations: number};
    countConversations(): Promise<number>;
}

// Batch sizes grouped in powers of two: a label per group keeps the series few.
function batchBucket(items: number): string {
    if (items <= 1) return "1";
    if (items < 4) return "2-3";
    if (items < 8) return "4-7";
    if (items < 16) return "8-15";
    return "16+";
}

// A scrape does not wait longer than this for the database's count (Prometheus times out at 10 s by default).
const collectTimeoutMs = 2000;

const latencyBuckets = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
const stepBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/**
 * Every Prometheus metric of the bot, defined once, in its own registry: the recorder the
 * runtime writes through ({@link Metrics}), the pulled figures ({@link observe}), the model's
 * info gauge and the default process metrics. `text()` is what `/metrics` serves.
 */
export class BotMetrics implements Metrics {
    readonly registry = new Registry();
    readonly #turns = new Counter({name: "rwkv_turns_total", help: "Chat turns by platform and outcome (answered, busy, refused, failed, cancelled).", labelNames: ["platform", "outcome"], registers: [this.registry]});
    readonly #tokens = new Counter({name: "rwkv_tokens_total", help: "Tokens fed to the engine (prefilled: prompts and replays) or sampled from it (generated).", labelNames: ["kind"], registers: [this.registry]});
    readonly #steps = new Histogram({name: "rwkv_engine_step_seconds", help: "Duration of one batched engine step, by the number of items batched.", labelNames: ["batch"], buckets: stepBuckets, registers: [this.registry]});
    readonly #firstToken = new Histogram({name: "rwkv_first_reply_token_seconds", help: "From a chat turn's arrival to the first text of its reply.", buckets: latencyBuckets, registers: [this.registry]});
    readonly #reply = new Histogram({name: "rwkv_reply_seconds", help: "From a chat turn's arrival to its whole reply delivered.", buckets: latencyBuckets, registers: [this.registry]});
    readonly #checkpoint = new Histogram({name: "rwkv_checkpoint_seconds", help: "Checkpoint writes and conversation restores (checkpoint + replay).", labelNames: ["operation"], buckets: latencyBuckets, registers: [this.registry]});
    readonly #databaseErrors = new Counter({name: "rwkv_database_errors_total", help: "Database operations that failed (unreachable or refused).", registers: [this.registry]});
    readonly #rateLimited = new Counter({name: "rwkv_rate_limited_total", help: "Chat turns refused by the admission limits, by reason.", labelNames: ["reason"], registers: [this.registry]});
    readonly #platformCalls = new Counter({name: "rwkv_platform_api_calls_total", help: "Calls to the chat platform's API, by outcome.", labelNames: ["platform", "outcome"], registers: [this.registry]});
    readonly #platformRetries = new Counter({name: "rwkv_platform_api_retries_total", help: "Platform API calls sent again (after a 429 or a server error).", labelNames: ["platform"], registers: [this.registry]});
    readonly #platform429s = new Counter({name: "rwkv_platform_api_rate_limited_total", help: "Platform API calls answered 429.", labelNames: ["platform"], registers: [this.registry]});
    readonly #modelInfo = new Gauge({name: "rwkv_model_info", help: "The model and engine in use (always 1).", labelNames: ["model", "model_id", "precision", "backend", "slots"], registers: [this.registry]});

    constructor() {
        collectDefaultMetrics({register: this.registry});
        // Every outcome from the first scrape, so that rate() sees a series start at 0.
        for (const kind of ["prefilled", "generated"]) this.#tokens.inc({kind}, 0);
        this.#databaseErrors.inc(0);
    }

    turn(platform: string, outcome: TurnOutcome): void {
        this.#turns.inc({platform, outcome});
    }

    tokens(kind: "prefilled" | "generated", count: number): void {
        this.#tokens.inc({kind}, count);
    }

    engineStep(seconds: number, batchItems: number): void {
        this.#steps.observe({batch: batchBucket(batchItems)}, seconds);
    }

    firstReplyToken(seconds: number): void {
        this.#firstToken.observe(seconds);
    }

    reply(seconds: number): void {
        this.#reply.observe(seconds);
    }

    checkpoint(operation: "write" | "restore", seconds: number): void {
        this.#checkpoint.observe({operation}, seconds);
    }

    databaseError(): void {
        this.#databaseErrors.inc();
    }

    rateLimited(reason: string): void {
        this.#rateLimited.inc({reason});
    }

    platformCall(platform: string, outcome: "ok" | "error"): void {
        this.#platformCalls.inc({platform, outcome});
    }

    platformRetry(platform: string): void {
        this.#platformRetries.inc({platform});
    }

    platformRateLimited(platform: string): void {
        this.#platform429s.inc({platform});
    }

    /** Sets the info gauge of the loaded model. */
    setModel(model: ModelInfo, slots: number): void {
        this.#modelInfo.set({model: basename(model.path), model_id: model.modelId.slice(0, 12), precision: model.precision, backend: model.backend, slots: String(slots)}, 1);
    }

    /** Registers the gauges read at each scrape from `source`. */
    observe(source: LoadSource): void {
        const gauge = (name: string, help: string, read: (load: ReturnType<LoadSource["load"]>) => number) => new Gauge({
            name, help, registers: [this.registry],
            collect() {
                this.set(read(source.load()));
            },
        });
        gauge("rwkv_queue_waiting_turns", "Chat turns admitted and waiting for the engine.", (load) => load.waitingTurns);
        gauge("rwkv_queue_busy_conversations", "Conversations with a turn or command queued or running.", (load) => load.busyConversations);
        gauge("rwkv_conversations_resident", "Conversations held in engine slots.", (load) => load.residentConversations);
        gauge("rwkv_engine_slots", "Engine slots (conversations that can be held at once).", (load) => load.slots);
        new Gauge({
            name: "rwkv_conversations_total", help: "Conversations the database holds (the last count read while it is unreachable).", registers: [this.registry],
            async collect() {
                // An unreachable database shows in /readyz and rwkv_database_errors_total; the scrape keeps the last count.
                const count = await Promise.race([source.countConversations().catch(() => null), sleep(collectTimeoutMs, null, {ref: false})]);
                if (count !== null) this.set(count);
            },
        });
    }

    /** The exposition text `/metrics` serves, with its content type. */
    async text(): Promise<{body: string; contentType: string}> {
        return {body: await this.registry.metrics(), contentType: this.registry.contentType};
    }
}
