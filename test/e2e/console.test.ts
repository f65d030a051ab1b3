import {existsSync, readFileSync, rmSync, writeFileSync} from "node:fs";
import {join} from "node:path";
import {fileURLToPath} from "node:url";
import {afterAll, beforeAll, describe, expect, it} from "vitest";
import {modelPath} from "../engine/engineFixtures.ts";
import {cutWorldVocab} from "../helpers/cutWorldVocab.ts";
import {worldModel} from "../helpers/fixtures.ts";
import {runProcess, type ProcessResult} from "../helpers/runProcess.ts";
import {scratchDir} from "../engine/runtimeHelpers.ts";
import {smallVocabText} from "../unit/tokenizer/smallVocab.ts";

const mainFile = fileURLToPath(new URL("../../src/main.ts", import.meta.url));
const repo = fileURLToPath(new URL("../..", import.meta.url));

/** `npm start` as a user runs it (through tsx) in `cwd`, with `script` piped to stdin. */
function runBot(cwd: string, env: Record<string, string>, script: string): Promise<ProcessResult> {
    // Only what the bot needs: no platform tokens leak in from the test's environment.
    const base = {PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? cwd};
    return runProcess(join(repo, "node_modules/.bin/tsx"), [mainFile], {cwd, env: {...base, ...env}, stdin: script});
}

describe("npm start with no platform configured: the console", () => {
    let dir: string;
    let env: Record<string, string>;
    beforeAll(() => {
        dir = scratchDir();
        env = {
            RWKV_MODEL_PATH: modelPath("tiny-L3-C128-V1024.fp32.pth"), RWKV_VOCAB: join(dir, "vocab.txt"), ENGINE_PRECISION: "fp32",
            ENGINE_THREADS: "1", ENGINE_SLOTS: "2", BOT_DATA_DIR: join(dir, "data"), SAMPLING_TEMPERATURE: "0", REPLY_MAX_TOKENS: "16", USER_COOLDOWN_MS: "0",
        };
    });
    afterAll(() => rmSync(dir, {recursive: true, force: true}));

    it("chats, runs slash commands, and keeps the conversation across restarts", async () => {
        const first = await runBot(dir, env, "hello there\n/status\n/export saved.rwkvconv\n\nsecond message\n/help\n/nonsense words\n");
        expect(first.code).toBe(0);
        const lines = first.stdout.split("\n");
        expect(lines.filter((line) => line.startsWith("bot: ")).length).toBeGreaterThanOrEqual(6);
        expect(first.stdout).toContain("this conversation: ");
        expect(first.stdout).toContain("tokens in 2 turn(s), epoch 0, format chat");
        expect(first.stdout).toContain("(saved saved.rwkvconv)");
        expect(first.stdout).toContain("Commands:\n  status: model, backend");
        expect(first.stdout).toContain("bot: Unknown command \"nonsense\".");
        expect(readFileSync(join(dir, "saved.rwkvconv")).subarray(0, 8).toString("latin1")).toBe("RWKVCONV");

        const second = await runBot(dir, env, "/status\n/reset\n/status\n/import saved.rwkvconv\n/status\n");
        expect(second.code).toBe(0);
        const statuses = second.stdout.split("\n").filter((line) => line.startsWith("this conversation:"));
        expect(statuses).toEqual([
            expect.stringContaining("in 4 turn(s), epoch 0"),
            expect.stringContaining("0 tokens in 0 turn(s), epoch 1"),
            expect.stringContaining("in 2 turn(s), epoch 2"),
        ]);
        expect(second.stdout).toContain("bot: Conversation reset.");
        expect(second.stdout).toContain("bot: Imported saved.rwkvconv: 2 turn(s).");
        expect(existsSync(join(dir, "data"))).toBe(true);
    });

    it("answers every line of a script: the console's operator has no cooldown", async () => {
        const {USER_COOLDOWN_MS: _, ...withCooldown} = env;
        // With the ops endpoint on (a free port): served in console mode too, and closed at the end.
        const result = await runBot(dir, {...withCooldown, CONSOLE_CONVERSATION: "cooldown", METRICS_PORT: "0"}, "one\ntwo\nthree\nfour\n");
        expect(result.code).toBe(0);
        expect(result.stdout).not.toContain("too fast");
        expect(result.stdout.split("\n").filter((line) => line.startsWith("bot: "))).toHaveLength(4);
        // Off a terminal the log is JSON lines: the endpoint, then one line per turn.
        const logged = result.stderr.split("\n").filter((line) => line.startsWith("{")).map((line) => JSON.parse(line) as {msg: string; outcome?: string});
        expect(logged.map((line) => line.msg)).toContainEqual(expect.stringMatching(/^metrics and health checks on http:\/\/127\.0\.0\.1:\d+\/metrics/));
        expect(logged.filter((line) => line.msg === "turn").map((line) => line.outcome)).toEqual(["answered", "answered", "answered", "answered"]);
    }, 180_000);

    it("takes int8 weights under the default ENGINE_PRECISION=auto when 16-bit ones exceed ENGINE_MEMORY_BUDGET, and says so", async () => {
        const {ENGINE_PRECISION: _, ...auto} = env;
        const half = modelPath("tiny-L3-C128-V1024.bf16.pth");
        const result = await runBot(dir, {...auto, RWKV_MODEL_PATH: half, CONSOLE_CONVERSATION: "budget", ENGINE_MEMORY_BUDGET: "1.8MB"}, "hello there\n/status\n");
        expect(result.code).toBe(0);
        expect(result.stdout.split("\n").filter((line) => line.startsWith("bot: ")).length).toBeGreaterThanOrEqual(2);
        expect(result.stdout).toMatch(/^bot: model: tiny-L3-C128-V1024\.bf16\.pth \(.*, int8\), backend cpu$/m);
        const logged = result.stderr.split("\n").filter((line) => line.startsWith("{")).map((line) => JSON.parse(line) as {msg: string; precision?: string; memoryBudget?: number});
        const start = logged.find((line) => line.precision !== undefined);
        expect(start?.msg).toMatch(/on cpu, int8 weights \(1\.\d MB; auto: 16bit did not fit the 1\.8 MB budget\)/);
        expect(start).toMatchObject({precision: "int8", memoryBudget: 1.8e6});
    });

    it("refuses weights over ENGINE_MEMORY_BUDGET before loading them, saying what they need and what would fit", async () => {
        const half = modelPath("tiny-L3-C128-V1024.bf16.pth");
        const over16 = await runBot(dir, {...env, RWKV_MODEL_PATH: half, ENGINE_PRECISION: "16bit", ENGINE_MEMORY_BUDGET: "1.8MB"}, "hello\n");
        expect(over16.code).toBe(1);
        expect(over16.stderr).toMatch(/^error: .*tiny-L3-C128-V1024\.bf16\.pth: its 16-bit weights need 1\.8 MB, more than the memory budget of 1\.8 MB \(the memory budget asked for\); as int8 weights they need 1\.\d MB and fit \(engine\/out_of_memory\)$/m);
        const overAll = await runBot(dir, {...env, RWKV_MODEL_PATH: half, ENGINE_PRECISION: "auto", ENGINE_MEMORY_BUDGET: "500kB"}, "hello\n");
        expect(overAll.code).toBe(1);
        expect(overAll.stderr).toMatch(/its int8 weights need 1\.\d MB, more than the memory budget of 0\.5 MB .*free some memory or run a smaller model \(engine\/out_of_memory\)$/m);
        expect(`${over16.stdout}${overAll.stdout}`).not.toContain("bot: ");
    });

    it("lists every configuration problem and exits non-zero without a model", async () => {
        const result = await runBot(dir, {ENGINE_SLOTS: "many", QUEUE_MAX: "-3"}, "");
        expect(result.code).toBe(1);
        expect(result.stderr).toContain("RWKV_MODEL_PATH is required");
        expect(result.stderr).toContain("ENGINE_SLOTS must be an integer");
        expect(result.stderr).toContain("QUEUE_MAX must be an integer");
        expect(result.stderr).toContain("(config/invalid)");
    });

    it("refuses a vocabulary that does not belong to the model, naming both", async () => {
        // 256 bytes + 800 two-byte tokens: ids up to 1056, beyond the tiny model's 1024.
        const [first, second] = ["ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef", "abcdefghijklmnopqrstuvwxyz"];
        const pairs = Array.from({length: 800}, (_, i) => [`'${first[Math.floor(i / 26)]}${second[i % 26]}'`, 2] as const);
        const vocab = join(dir, "too-big-vocab.txt");
        writeFileSync(vocab, smallVocabText(pairs));
        const result = await runBot(dir, {...env, RWKV_VOCAB: vocab}, "hello\n");
        expect(result.code).toBe(1);
        expect(result.stderr).toMatch(/^error: the vocabulary .*too-big-vocab\.txt has ids up to 1056, but the model .*tiny-L3-C128-V1024\.fp32\.pth has only 1024 tokens.*\(config\/vocab_mismatch\)$/m);
        expect(result.stdout).not.toContain("bot: ");
    });
});

describe("npm start and the World vocabulary", () => {
    let dir: string;
    let env: Record<string, string>;
    beforeAll(() => {
        dir = scratchDir();
        // In memory: a refused start leaves nothing behind, and no data-dir lock between the tests.
        env = {RWKV_MODEL_PATH: worldModel.path, ENGINE_PRECISION: "fp32", ENGINE_THREADS: "1", ENGINE_SLOTS: "1", BOT_DATA_DIR: "memory://"};
    });
    afterAll(() => rmSync(dir, {recursive: true, force: true}));

    it("refuses to start with a 65,000-line copy of the World vocabulary, with the reason and the way out", async () => {
        const vocab = join(dir, "vocab-65000.txt");
        writeFileSync(vocab, cutWorldVocab(65_000));
        const result = await runBot(dir, {...env, RWKV_VOCAB: vocab}, "hello\n");
        expect(result.code).toBe(1);
        expect(result.stderr).toMatch(/^error: the vocabulary .*vocab-65000\.txt is not the RWKV World vocabulary, though the model has 65536 token rows.*ids up to 65000, not 65529.*set RWKV_VOCAB_CUSTOM=1 if this is a custom vocabulary on purpose\. \(tokenizer\/not_world_vocab\)$/m);
        expect(result.stdout).not.toContain("bot: ");
    });

    it("names RWKV_VOCAB when the vocabulary is missing", async () => {
        const missing = join(dir, "absent-vocab.txt");
        const result = await runBot(dir, {...env, RWKV_VOCAB: missing}, "hello\n");
        expect(result.code).toBe(1);
        expect(result.stderr.split("\n")).toContain(`error: cannot read the vocabulary ${missing} (RWKV_VOCAB): no such file (tokenizer/vocab_unreadable)`);
    });
});
