import {asBotError} from "../errors/BotError.ts";
import {noMetrics} from "../core/Metrics.ts";
import type {Metrics} from "../core/Metrics.ts";
import type {StepItem, StepOutput, Stepper} from "../core/Stepper.ts";
import type {BatchStrategy} from "./BatchStrategy.ts";
import {fairRoundRobin} from "./strategies/fairRoundRobin.ts";
import {TokenRate} from "./TokenRate.ts";

/** Options of {@link BatchDispatcher}. */
export interface BatchDispatcherOptions {
    /** Most tokens one engine step carries, summed over its items (the engine's `maxBatchTokens`). */
    readonly maxBatchTokens: number;
    /** Which requests, and how many of their tokens, fill each step. Defaults to {@link fairRoundRobin}. */
    readonly strategy?: BatchStrategy;
    /**
     * When idle, the longest (ms) the first request waits for the turns that are starting (see
     * {@link BatchDispatcher.stepper}) to join its step. Turns that start together reach their
     * first step some ms apart (state snapshots queue behind each other); without the wait the
     * batch would stay split until they end. Defaults to 50.
     */
    readonly gatherMs?: number;
    /** Where each step's duration and size are recorded. Defaults to {@link noMetrics}. */
    readonly metrics?: Metrics;
    /** Measures the recent token rate. Defaults to one over the last minute. */
    readonly tokenRate?: TokenRate;
}

/** Counters of a {@link BatchDispatcher}, for status and benchmarks. */
export interface DispatcherStats {
    /** Engine steps made. */
    steps: number;
    /** Tokens fed, over all steps. */
    tokens: number;
    /** Milliseconds spent inside engine steps. */
    stepMs: number;
}

interface Request {
    readonly slot: number;
    readonly tokens: ArrayLike<number>;
    readonly logits: NonNullable<StepItem["logits"]>;
    readonly sample: StepItem["sample"];
    readonly signal: AbortSignal | undefined;
    readonly resolve: (output: StepOutput) => void;
    readonly reject: (error: unknown) => void;
    fed: number;
    /** Logits of the slices fed so far (several only for `"all"`). */
    rows: StepOutput[];
}

/**
 * Continuous batching by queue-and-dispatch: callers `step()` as if they had the engine to
 * themselves and await their own promise; one dispatcher builds each tick's batch from every
 * waiting request (at most one per slot) under the strategy, makes ONE engine step, and
 * resolves each request with its own output once all its tokens are fed. Ticks follow each
 * other while requests wait; a tick starts after the previous step's callers have had a
 * chance to queue their next token, so decodes of many conversations share a step.
 */
export class BatchDispatcher {
    /** Running totals. */
    readonly stats: DispatcherStats = {steps: 0, tokens: 0, stepMs: 0};
    readonly #metrics: Metrics;
    readonly #tokenRate: TokenRate;
    readonly #engine: Stepper;
    readonly #budget: number;
    readonly #strategy: BatchStrategy;
    readonly #queue: Request[] = [];
    readonly #gatherMs: number;
    #scheduled = false;
    // Set while an idle dispatcher waits for starting turns: dispatches early once none is left.
    #gathering: NodeJS.Timeout | null = null;
    // Steppers made but not stepped yet: turns about to send their first request.
    #starting = 0;
    // Whether the last tick stepped: only a dispatcher coming out of idle waits to gather.
    #busy = false;
    #running: Promise<void> | null = null;

    constructor(engine: Stepper, options: BatchDispatcherOptions) {
        this.#engine = engine;
        this.#budget = options.maxBatchTokens;
        this.#strategy = options.strategy ?? fairRoundRobin;
        this.#gatherMs = options.gatherMs ?? 50;
        this.#metrics = options.metrics ?? noMetrics;
        this.#tokenRate = options.tokenRate ?? new TokenRate();
    }

    /** Tokens fed per second over the recent window (the last minute by default). */
    get tokensPerSecond(): number {
        return this.#tokenRate.perSecond();
    }

    /** Requests waiting to be fed (in whole or in part). */
    get pending(): number {
        return this.#queue.length;
    }

    /**
     * Same contract as `RwkvEngine.step`, but the items join the shared batch of the next tick
     * instead of running alone; `signal` drops items not yet fed (their promise rejects with
     * the signal's reason). An engine failure rejects only the items it concerns.
     */
    step(items: readonly StepItem[], signal?: AbortSignal): Promise<StepOutput[]> {
        return Promise.all(items.map((item) => new Promise<StepOutput>((resolve, reject) => {
            if (signal?.aborted) {
                reject(signal.reason);
                return;
            }
            if (item.tokens.length === 0) {
                resolve({rows: 0, logits: null, token: null});
                return;
            }
            this.#queue.push({slot: item.slot, tokens: item.tokens, logits: item.logits ?? "last", sample: item.sample, signal, resolve, reject, fed: 0, rows: []});
            this.#schedule();
            this.#stopGatheringIfAllCame();
        })));
    }

    /**
     * A `{step}` facade for one turn, made when the turn is admitted: its requests are dropped when
     * `signal` aborts, and an idle dispatcher holds its first step (up to `gatherMs`) until
     * every turn starting with it has sent its first request. Call `done()` when the turn ends.
     */
    stepper(signal?: AbortSignal): Stepper & {done(): void} {
        let starting = true;
        this.#starting++;
        const started = () => {
            if (!starting) return;
            starting = false;
            this.#starting--;
        };
        return {
            step: (items) => {
                started();
                return this.step(items, signal);
            },
            done: () => {
                started();
                this.#stopGatheringIfAllCame();
            },
        };
    }

    /** Resolves once no request waits and no step runs. */
    async idle(): Promise<void> {
        while (this.#running !== null || this.#scheduled) await (this.#running ?? new Promise((resolve) => setImmediate(resolve)));
    }

    #schedule(): void {
        if (this.#scheduled || this.#running !== null) return;
        this.#scheduled = true;
        const dispatch = () => {
            this.#scheduled = false;
            if (this.#gathering !== null) clearTimeout(this.#gathering);
            this.#gathering = null;
            this.#running = this.#tick().then((stepped) => {
                this.#busy = stepped;
            }).finally(() => {
                this.#running = null;
                if (this.#queue.length > 0) this.#schedule();
                // Nothing queued by the next macrotask: the callers are done, the next request starts afresh.
                else setImmediate(() => void (this.#queue.length === 0 && this.#running === null && (this.#busy = false)));
            });
        };
        // Busy: the next macrotask, by when every caller resumed by the last step has queued its next item.
        if (this.#busy || this.#gatherMs <= 0 || this.#starting === 0) setImmediate(dispatch);
        else this.#gathering = setTimeout(dispatch, this.#gatherMs);
    }

    #stopGatheringIfAllCame(): void {
        if (this.#gathering === null || this.#starting > 0) return;
        clearTimeout(this.#gathering);
        this.#gathering = null;
        this.#scheduled = false;
        this.#schedule();
    }

    // Returns whether it made a step.
    async #tick(): Promise<boolean> {
        this.#dropAborted();
        const candidates: Request[] = [];
        const slots = new Set<number>();
        for (const request of this.#queue) {
            if (slots.has(request.slot)) continue;
            slots.add(request.slot);
            candidates.push(request);
        }
        if (candidates.length === 0) return false;
        const allocations = this.#strategy(candidates.map((r) => ({slot: r.slot, remaining: r.tokens.length - r.fed})), this.#budget);
        const batch = allocations.map(({index, tokens}) => {
            const request = candidates[index]!;
            return {request, item: sliceItem(request, tokens)};
        });
        const started = performance.now();
        const outputs = await this.#run(batch.map((entry) => entry.item));
        const stepMs = performance.now() - started;
        this.stats.steps++;
        this.stats.stepMs += stepMs;
        this.#metrics.engineStep(stepMs / 1000, batch.length);
        batch.forEach(({request, item}, i) => {
            const output = outputs[i]!;
            if (output instanceof Error) {
                this.#remove(request);
                request.reject(output);
                return;
            }
            this.stats.tokens += item.tokens.length;
            this.#tokenRate.add(item.tokens.length);
            request.fed += item.tokens.length;
            if (output.logits !== null) request.rows.push(output);
            if (request.fed < request.tokens.length) return;
            this.#remove(request);
            request.resolve(joinRows(request.rows, output));
        });
        return true;
    }

    // One step for the batch; if it fails (no slot changed), each item alone, so only the failing ones are rejected.
    async #run(items: StepItem[]): Promise<(StepOutput | Error)[]> {
        try {
            return await this.#engine.step(items);
        } catch (error) {
            if (items.length === 1) return [asBotError(error)];
            const outputs: (StepOutput | Error)[] = [];
            for (const item of items) outputs.push(...await this.#run([item]));
            return outputs;
        }
    }

    #dropAborted(): void {
        for (const request of [...this.#queue]) {
            if (request.signal?.aborted !== true) continue;
            this.#remove(request);
            request.reject(request.signal.reason);
        }
    }

    #remove(request: Request): void {
        const at = this.#queue.indexOf(request);
        if (at >= 0) this.#queue.splice(at, 1);
    }
}

// The part of a request fed this step; logits only where the caller wanted them, the sample after its last token.
function sliceItem(request: Request, count: number): StepItem {
    const tokens = Array.prototype.slice.call(request.tokens, request.fed, request.fed + count) as number[];
    const last = request.fed + count >= request.tokens.length;
    const logits = request.logits === "all" ? "all" : last ? request.logits : "none";
    return last && request.sample !== undefined ? {slot: request.slot, tokens, logits, sample: request.sample} : {slot: request.slot, tokens, logits};
}

function joinRows(parts: StepOutput[], last: StepOutput): StepOutput {
    if (parts.length <= 1) return last;
    const joined = new Float32Array(parts.reduce((n, part) => n + part.logits!.length, 0));
    let at = 0;
    for (const part of parts) {
        joined.set(part.logits!, at);
        at += part.logits!.length;
    }
    return {rows: parts.reduce((n, part) => n + part.rows, 0), logits: joined, token: last.token};
}
