import {mkdtempSync, rmSync, writeFileSync} from "node:fs";
import os from "node:os";
import path from "node:path";
import {PassThrough} from "node:stream";
import {fileURLToPath} from "node:url";
import {afterAll, beforeAll, describe, expect, it} from "vitest";
import {adapterRegistry} from "../../adapters/registry.ts";
import {registerAdapter} from "../../adapters/shared/registerAdapter.ts";
import {createAdapters} from "../../src/app/createAdapters.ts";
import {createApp} from "../../src/app/createApp.ts";
import type {App} from "../../src/app/createApp.ts";
import type {Adapter} from "../../src/core/Adapter.ts";
import {loadConfig} from "../../src/config/loadConfig.ts";
import {smallVocabText} from "../unit/tokenizer/smallVocab.ts";
import * as loopback from "./fakes/loopback/index.ts";
import {LoopbackAdapter} from "./fakes/loopback/LoopbackAdapter.ts";
import {silentLog} from "../helpers/testLoggers.ts";

// A platform added the way docs/adding-an-adapter.md says: its own folder (fakes/loopback) and
// one registry entry. Config loading and start-up find it through the registry alone.
const registry = [...adapterRegistry, registerAdapter(loopback)];
const modelPath = fileURLToPath(new URL("../fixtures/models/tiny-L3-C128-V1024.fp32.pth", import.meta.url));
const quiet = silentLog;

describe("a platform registered like the built-in ones", () => {
    let dir: string;
    let app: App | undefined;
    let adapters: Adapter[] = [];
    const env = (): Record<string, string> => ({
        RWKV_MODEL_PATH: modelPath, RWKV_VOCAB: path.join(dir, "vocab.txt"), ENGINE_PRECISION: "fp32", ENGINE_BACKEND: "cpu",
        ENGINE_THREADS: "1", ENGINE_SLOTS: "2", SAMPLING_TEMPERATURE: "0", REPLY_MAX_TOKENS: "8", USER_COOLDOWN_MS: "0",
        BOT_DATA_DIR: "memory://",
    });

    beforeAll(() => {
        dir = mkdtempSync(path.join(os.tmpdir(), "rwkv-loopback-"));
        writeFileSync(path.join(dir, "vocab.txt"), smallVocabText());
    });
    afterAll(async () => {
        await app?.stop();
        rmSync(dir, {recursive: true, force: true});
    });

    it("is off until its settings are set, and on beside nothing else when they are", () => {
        expect(loadConfig(env(), registry).adapters).toEqual([]);
        const enabled = loadConfig({...env(), LOOPBACK_CONVERSATION: "main"}, registry).adapters;
        expect(enabled.map((adapter) => [adapter.platform, adapter.config])).toEqual([["loopback", {conversation: "main"}]]);
        // The default registry does not know it: the variable is just ignored.
        expect(loadConfig({...env(), LOOPBACK_CONVERSATION: "main"}).adapters).toEqual([]);
    });

    it("has its configuration problems listed with everyone else's", () => {
        expect(() => loadConfig({...env(), LOOPBACK_CONVERSATION: "no spaces", ENGINE_SLOTS: "none"}, registry))
            .toThrow(/ENGINE_SLOTS must be an integer[\s\S]*LOOPBACK_CONVERSATION must be letters/);
    });

    it("is built and started by the app, and its turns are answered by the real engine and logged", async () => {
        const config = loadConfig({...env(), LOOPBACK_CONVERSATION: "main"}, registry);
        app = await createApp(config, {
            log: quiet,
            adapters: (context) => (adapters = createAdapters(config, {...context, console: {input: new PassThrough(), output: new PassThrough()}})),
        });
        await app.start();
        expect(adapters.map((adapter) => adapter.platform)).toEqual(["loopback"]);
        const adapter = adapters[0] as LoopbackAdapter;
        expect(adapter).toBeInstanceOf(LoopbackAdapter);
        const first = await adapter.say("hello");
        const second = await adapter.say("and again");
        expect(first).toMatchObject({kind: "complete", text: expect.any(String)});
        expect(second).toMatchObject({kind: "complete", text: expect.any(String)});
        const transcript = await app.store.transcript("loopback:main");
        expect(transcript.map((turn) => turn.role)).toEqual(["user", "assistant", "user", "assistant"]);
        expect(transcript[0]).toMatchObject({text: expect.stringContaining("hello")});
    });
});
