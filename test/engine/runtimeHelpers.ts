// Shared by the runtime tests: the whole app on the tiny fixture model, greedy, with a byte vocabulary.
import {mkdtempSync, writeFileSync} from "node:fs";
import {tmpdir} from "node:os";
import {join} from "node:path";
import type {ReplyFile, ReplySink} from "../../src/core/ReplySink.ts";
import {conversationKey} from "../../src/core/Turn.ts";
import type {Turn} from "../../src/core/Turn.ts";
import {createApp} from "../../src/app/createApp.ts";
import type {App, AppOptions} from "../../src/app/createApp.ts";
import type {Logger} from "../../src/core/Logger.ts";
import {loadConfig} from "../../src/config/loadConfig.ts";
import {createLogger} from "../../src/ops/createLogger.ts";
import type {BotError} from "../../src/errors/BotError.ts";
import {smallVocabText} from "../unit/tokenizer/smallVocab.ts";
import {modelPath} from "./engineFixtures.ts";

/** A temporary directory holding the byte-level test vocabulary. */
export function scratchDir(): string {
    const dir = mkdtempSync(join(tmpdir(), "rwkv-runtime-"));
    writeFileSync(join(dir, "vocab.txt"), smallVocabText());
    return dir;
}

/** Logs only failures (kept for the test output). */
/** Warnings and errors only, so that a failing test shows why. */
export const quietLog: Logger = createLogger({level: "warn", format: "auto"});

/** The app on tiny-L3-C128-V1024 in fp32 with greedy sampling and an in-memory database, unless `env` says otherwise. */
export function startApp(dir: string, env: Record<string, string> = {}, options: Pick<AppOptions, "shutdownGraceMs" | "adapters"> = {}): Promise<App> {
    const config = loadConfig({
        RWKV_MODEL_PATH: modelPath("tiny-L3-C128-V1024.fp32.pth"), RWKV_VOCAB: join(dir, "vocab.txt"), ENGINE_PRECISION: "fp32",
        ENGINE_THREADS: "1", BOT_DATA_DIR: "memory://", SAMPLING_TEMPERATURE: "0", REPLY_MAX_TOKENS: "24", USER_COOLDOWN_MS: "0",
        PREFILL_CHUNK_TOKENS: "32", ...env,
    });
    return createApp(config, {log: quietLog, ...options});
}

let turnNumber = 0;

/** A console-like turn in `key`. */
export function turnIn(key: string, text: string, options: {user?: string, isAdmin?: boolean, signal?: AbortSignal} = {}): Turn {
    turnNumber++;
    return {
        id: `t${turnNumber}`, platform: "console", conversation: conversationKey(key),
        author: {id: options.user ?? `user-${turnNumber}`, name: "tester", isAdmin: options.isAdmin ?? true},
        text, receivedAt: Date.now(), signal: options.signal ?? new AbortController().signal,
    };
}

/** How a reply ended. */
export type Outcome = {kind: "complete", text: string, file?: ReplyFile} | {kind: "fail", error: BotError};

/** A sink that records everything; `outcome` settles on complete or fail, and a second call is an error. */
export class RecordingSink implements ReplySink {
    readonly updates: string[] = [];
    readonly outcome: Promise<Outcome>;
    onUpdate: ((text: string) => void) | null = null;
    #settle!: (outcome: Outcome) => void;
    #settled = false;

    constructor() {
        this.outcome = new Promise((resolve) => (this.#settle = resolve));
    }

    async typing(): Promise<void> {}

    async update(text: string): Promise<void> {
        this.updates.push(text);
        this.onUpdate?.(text);
    }

    async complete(text: string, file?: ReplyFile): Promise<void> {
        this.#end({kind: "complete", text, ...(file === undefined ? {} : {file})});
    }

    async fail(error: BotError): Promise<void> {
        this.#end({kind: "fail", error});
    }

    #end(outcome: Outcome): void {
        if (this.#settled) throw new Error("the sink was ended twice");
        this.#settled = true;
        this.#settle(outcome);
    }
}

/** Sends a turn through the app's router and returns how it ended. */
export async function send(app: App, turn: Turn, sink = new RecordingSink()): Promise<Outcome> {
    await app.handler(turn, sink);
    return sink.outcome;
}

/** The engine state of a conversation, read in its turn order (restored into a slot if needed). */
export function stateOf(app: App, key: string): Promise<Float32Array> {
    return app.scheduler.exclusive(turnIn(key, ""), (_conversation, slot) => app.engine.exportState(slot));
}

/** The token ids logged for a conversation's current epoch, by role. */
export async function loggedTokens(app: App, key: string): Promise<{role: string, tokens: readonly number[]}[]> {
    return (await app.store.transcript(key)).map(({role, tokens}) => ({role, tokens}));
}
