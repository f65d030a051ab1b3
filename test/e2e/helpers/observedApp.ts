import {mkdtempSync, writeFileSync} from "node:fs";
import os from "node:os";
import path from "node:path";
import {PassThrough} from "node:stream";
import {fileURLToPath} from "node:url";
import type {Adapter} from "../../../src/core/Adapter.ts";
import {createAdapters} from "../../../src/app/createAdapters.ts";
import {createApp} from "../../../src/app/createApp.ts";
import {serveOps} from "../../../src/app/serveOps.ts";
import type {ServedOps} from "../../../src/app/serveOps.ts";
import type {Logger} from "../../../src/core/Logger.ts";
import type {ReplySink} from "../../../src/core/ReplySink.ts";
import type {ReplyAddress} from "../../../src/core/Turn.ts";
import type {App} from "../../../src/app/createApp.ts";
import {loadConfig} from "../../../src/config/loadConfig.ts";
import {smallVocabText} from "../../unit/tokenizer/smallVocab.ts";
import {silentLog} from "../../helpers/testLoggers.ts";

/** The tiny fp32 fixture model: greedy replies are a pure function of the conversation's history. */
export const tinyModelPath = fileURLToPath(new URL("../../fixtures/models/tiny-L3-C128-V1024.fp32.pth", import.meta.url));

export const quietLog = silentLog;

/** A fresh temporary directory holding the tiny model's byte-level `vocab.txt`, for {@link tinyBotEnv}. */
export function tinyBotDir(prefix: string): string {
    const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
    writeFileSync(path.join(dir, "vocab.txt"), smallVocabText());
    return dir;
}

/**
 * The settings every end-to-end bot shares: the tiny model on the CPU, greedy, short replies,
 * no cooldown, fast edits, the embedded database in `dir` (which holds the byte-level `vocab.txt`).
 */
export function tinyBotEnv(dir: string): Record<string, string> {
    return {
        RWKV_MODEL_PATH: tinyModelPath, RWKV_VOCAB: path.join(dir, "vocab.txt"),
        ENGINE_PRECISION: "fp32", ENGINE_BACKEND: "cpu", ENGINE_THREADS: "1", ENGINE_SLOTS: "2",
        SAMPLING_TEMPERATURE: "0", REPLY_MAX_TOKENS: "8", USER_COOLDOWN_MS: "0", EDIT_MIN_INTERVAL_MS: "50", EDITS_PER_SECOND: "100",
        BOT_DATA_DIR: path.join(dir, "db"),
    };
}

/** Watches the turns the core handles, through the adapters as built. */
export class TurnObserver {
    /** Ids of the turns the core has finished with (reply delivered or failed). */
    readonly finished = new Set<string>();
    /** Every text a turn streamed through `update`, by turn id, in order. */
    readonly updates = new Map<string, string[]>();
    /** The reply addresses of turns another process received that this one answered (through `replySink`), once answered. */
    readonly answeredForOthers: ReplyAddress[] = [];
    /** Runs once, before the next reply is handed to the adapter (with that reply's text). */
    beforeComplete: ((text: string) => Promise<void>) | null = null;

    /** Whether the turn streamed its reply: two or more texts, each growing from the one before. */
    streamed(turnId: string): boolean {
        const texts = this.updates.get(turnId) ?? [];
        return texts.length >= 2 && texts.every((text, i) => i === 0 || text.startsWith(texts[i - 1] as string) && text.length > (texts[i - 1] as string).length);
    }

    wrap(adapter: Adapter): Adapter {
        return {
            platform: adapter.platform,
            get connected() {
                return adapter.connected;
            },
            start: (handler) => adapter.start(async (turn, sink, accepted) => {
                const streamed: string[] = [];
                this.updates.set(turn.id, streamed);
                await handler(turn, {
                    typing: () => sink.typing(),
                    update: (text) => {
                        streamed.push(text);
                        return sink.update(text);
                    },
                    complete: async (text, file) => {
                        const hook = this.beforeComplete;
                        this.beforeComplete = null;
                        await hook?.(text);
                        await sink.complete(text, file);
                    },
                    fail: (error) => sink.fail(error),
                }, accepted);
                this.finished.add(turn.id);
            }),
            stop: () => adapter.stop(),
            // Turns another process received are answered through the adapter; only their end is recorded.
            ...(adapter.replySink === undefined ? {} : {replySink: (address) => this.#answering(adapter.replySink!(address), address)}),
            ...(adapter.attachment === undefined ? {} : {attachment: adapter.attachment.bind(adapter)}),
        };
    }

    #answering(sink: ReplySink, address: ReplyAddress): ReplySink {
        return {
            typing: () => sink.typing(),
            update: (text) => sink.update(text),
            complete: async (text, file) => {
                await sink.complete(text, file);
                this.answeredForOthers.push(address);
            },
            fail: async (error) => {
                await sink.fail(error);
                this.answeredForOthers.push(address);
            },
        };
    }
}

/** The whole bot as `npm start` composes it (config → ops endpoint → createApp → createAdapters), each adapter observed. */
export async function startObservedApp(env: Record<string, string>, observer: TurnObserver, log: Logger = quietLog): Promise<{app: App; adapters: Adapter[]; ops: ServedOps | null}> {
    const config = loadConfig(env);
    const adapters: Adapter[] = [];
    let app: App | null = null;
    const ops = await serveOps(config.ops, log, () => app);
    try {
        app = await createApp(config, {
            log, ...(ops === null ? {} : {metrics: ops.metrics}),
            adapters: (context) => createAdapters(config, {...context, console: {input: new PassThrough(), output: new PassThrough()}})
                .map((adapter) => {
                    adapters.push(adapter);
                    return observer.wrap(adapter);
                }),
        });
        await app.start();
    } catch (error) {
        await ops?.server.close();
        throw error;
    }
    return {app, adapters, ops};
}
