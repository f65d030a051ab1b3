import {describe, expect, it} from "vitest";
import {loadConfig} from "../../../src/config/loadConfig.ts";
import {ConfigError} from "../../../src/errors/BotError.ts";
import {worldVocabPath} from "../../../src/inference/worldVocab.ts";

function problemsOf(env: Record<string, string>): string[] {
    try {
        loadConfig(env);
    } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        expect((error as ConfigError).code).toBe("config/invalid");
        return (error as Error).message.split("\n").slice(1).map((line) => line.replace(/^ {2}- /, ""));
    }
    throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe("loadConfig", () => {
    it("needs only the model path, and defaults the rest", () => {
        const config = loadConfig({RWKV_MODEL_PATH: "/models/m.pth"});
        expect(config.model).toEqual({path: "/models/m.pth", vocabPath: worldVocabPath, vocabCustom: false, precision: "auto", memoryBudget: 0, backend: "auto", threads: 0});
        expect(config.scheduler).toEqual({slots: 8, maxBatchTokens: 512, prefillChunkTokens: 128, strategy: "fairRoundRobin"});
        expect(config.storage.databaseUrl).toBeUndefined();
        expect(config.storage.dataDir).toBe(".data/pglite");
        expect(config.redisUrl).toBeUndefined();
        expect(config.adapters).toEqual([]);
        expect(config.reply.sampling.temperature).toBe(1);
    });

    it("takes RWKV_VOCAB over the shipped World vocabulary, and a custom one only when told", () => {
        expect(loadConfig({RWKV_MODEL_PATH: "/m.pth", RWKV_VOCAB: "/v/mine.txt"}).model).toMatchObject({vocabPath: "/v/mine.txt", vocabCustom: false});
        expect(loadConfig({RWKV_MODEL_PATH: "/m.pth", RWKV_VOCAB: "/v/mine.txt", RWKV_VOCAB_CUSTOM: "1"}).model).toMatchObject({vocabCustom: true});
        expect(problemsOf({RWKV_MODEL_PATH: "/m.pth", RWKV_VOCAB_CUSTOM: "perhaps"})).toEqual([expect.stringContaining("RWKV_VOCAB_CUSTOM must be true or false")]);
    });

    it("defaults to what the README documents: one edit a second, a checkpoint every 2048 tokens or after a minute of quiet", () => {
        const config = loadConfig({RWKV_MODEL_PATH: "/models/m.pth"});
        expect(config.limits.editMinIntervalMs).toBe(1000);
        expect(config.storage.checkpoint).toEqual({everyTokens: 2048, quietMs: 60_000});
        expect(config.storage.dataDir).toBe(".data/pglite");
    });

    it("lists every problem at once", () => {
        const problems = problemsOf({
            ENGINE_SLOTS: "zero", ENGINE_PRECISION: "fp8", QUEUE_MAX: "-1", REDIS_URL: "http://x", DB_AUTO_MIGRATE: "maybe",
            SAMPLING_TOP_P: "2", DATABASE_URL: "not a url", BATCH_STRATEGY: "random", ENGINE_MEMORY_BUDGET: "lots",
        });
        expect(problems).toEqual(expect.arrayContaining([
            expect.stringContaining("RWKV_MODEL_PATH is required"),
            expect.stringContaining("ENGINE_SLOTS must be an integer"),
            expect.stringContaining("ENGINE_PRECISION must be one of fp32, 16bit, int8, auto, fast"),
            // No range up to 2^53 - 1: an integer with no upper bound is "≥ min".
            'QUEUE_MAX must be an integer ≥ 0, got "-1"',
            expect.stringContaining("REDIS_URL must start with redis:// or rediss://"),
            expect.stringContaining("DB_AUTO_MIGRATE must be true or false"),
            // The variable the operator wrote, not the internal field (topP).
            "SAMPLING_TOP_P must be in [0, 1]",
            "DATABASE_URL is not a valid URL",
            expect.stringContaining("BATCH_STRATEGY must be one of fairRoundRobin, firstInFirstOut"),
            'ENGINE_MEMORY_BUDGET must be a size such as 14GB, 12.5GiB or 900MB, got "lots"',
        ]));
        expect(problems).toHaveLength(10);
    });

    it("reads ENGINE_PRECISION in the one precision vocabulary, fast being the 16-bit path's older name", () => {
        const precision = (word: string) => loadConfig({RWKV_MODEL_PATH: "m.pth", ENGINE_PRECISION: word}).model.precision;
        expect(["fp32", "16bit", "int8", "auto", "fast"].map(precision)).toEqual(["fp32", "16bit", "int8", "auto", "16bit"]);
    });

    it("reads ENGINE_MEMORY_BUDGET as a size in decimal or binary units, or plain bytes", () => {
        const budget = (text: string) => loadConfig({RWKV_MODEL_PATH: "m.pth", ENGINE_MEMORY_BUDGET: text}).model.memoryBudget;
        expect(["14GB", "12.5 GiB", "900MB", "64kB", "2TiB", "123456"].map(budget)).toEqual([14e9, 12.5 * 2 ** 30, 9e8, 64e3, 2 * 2 ** 40, 123456]);
        for (const bad of ["-1GB", "14 gigs", "GB", "1e9", "14G"]) {
            expect(problemsOf({RWKV_MODEL_PATH: "m.pth", ENGINE_MEMORY_BUDGET: bad})).toEqual([`ENGINE_MEMORY_BUDGET must be a size such as 14GB, 12.5GiB or 900MB, got "${bad}"`]);
        }
    });

    it("refuses only fp32 on ENGINE_BACKEND=cuda: the CUDA backend runs 16bit and int8, and auto picks between them", () => {
        expect(problemsOf({RWKV_MODEL_PATH: "m.pth", ENGINE_PRECISION: "fp32", ENGINE_BACKEND: "cuda"})).toEqual([
            "ENGINE_PRECISION=fp32 runs on the CPU backend only: set ENGINE_BACKEND=cpu or auto, or ENGINE_PRECISION=16bit, int8 or auto for CUDA",
        ]);
        for (const precision of ["16bit", "int8", "auto"] as const) {
            expect(loadConfig({RWKV_MODEL_PATH: "m.pth", ENGINE_PRECISION: precision, ENGINE_BACKEND: "cuda"}).model).toMatchObject({precision, backend: "cuda"});
        }
    });

    it("never echoes a secret-bearing URL", () => {
        const problems = problemsOf({RWKV_MODEL_PATH: "m.pth", DATABASE_URL: "post gres://u:hunter2@h/db"});
        expect(problems).toEqual(["DATABASE_URL is not a valid URL"]);
        expect(problems.join("\n")).not.toContain("hunter2");
    });

    it("includes the platform sections' problems", () => {
        const problems = problemsOf({RWKV_MODEL_PATH: "m.pth", SLACK_BOT_TOKEN: "xoxb-1"});
        expect(problems).toEqual([expect.stringContaining("SLACK_SIGNING_SECRET")]);
    });

    it("refuses a batch budget smaller than the slot count", () => {
        expect(problemsOf({RWKV_MODEL_PATH: "m.pth", ENGINE_SLOTS: "16", ENGINE_MAX_BATCH_TOKENS: "8"})).toEqual([
            expect.stringContaining("ENGINE_MAX_BATCH_TOKENS (8) must be at least ENGINE_SLOTS (16)"),
        ]);
    });

    it("reads the persona with \\n as newlines, and the sampling overrides", () => {
        const config = loadConfig({RWKV_MODEL_PATH: "m.pth", BOT_PERSONA: "User: hi\\n\\nAssistant: Hello.\\n\\n", SAMPLING_TEMPERATURE: "0", SAMPLING_SEED: "7"});
        expect(config.reply.persona).toBe("User: hi\n\nAssistant: Hello.\n\n");
        expect(config.reply.sampling).toMatchObject({temperature: 0, seed: 7, topP: 0.3});
    });

    it("serves no metrics unless METRICS_PORT is set, on 127.0.0.1 unless told, and logs at info", () => {
        expect(loadConfig({RWKV_MODEL_PATH: "m.pth"}).ops).toEqual({logLevel: "info", logFormat: "auto", metricsHost: "127.0.0.1"});
        expect(loadConfig({RWKV_MODEL_PATH: "m.pth", METRICS_PORT: "9464", METRICS_HOST: "0.0.0.0", LOG_LEVEL: "debug", LOG_FORMAT: "json"}).ops)
            .toEqual({logLevel: "debug", logFormat: "json", metricsPort: 9464, metricsHost: "0.0.0.0"});
        expect(problemsOf({RWKV_MODEL_PATH: "m.pth", METRICS_PORT: "http", LOG_LEVEL: "loud", LOG_FORMAT: "xml"})).toEqual([
            expect.stringContaining("LOG_LEVEL"), expect.stringContaining("LOG_FORMAT"), 'METRICS_PORT must be an integer in [0, 65535], got "http"',
        ]);
    });
});
