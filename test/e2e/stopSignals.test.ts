// `npm start` stopped the way systemd, Docker and Ctrl-C stop it: SIGTERM to its whole process
// group (npm, its shell and the bot; npm forwards the signal too, so the bot gets it twice).
// Twenty times in a row on one embedded database: every run ends cleanly, and the next run finds
// the previous run's final checkpoint (`/status` at its start); the lease is released.
import {spawn} from "node:child_process";
import {rmSync} from "node:fs";
import {join} from "node:path";
import {setTimeout as sleep} from "node:timers/promises";
import {fileURLToPath} from "node:url";
import {afterAll, beforeAll, describe, expect, it} from "vitest";
import {openDatabase} from "../../src/store/db/openDatabase.ts";
import {modelPath} from "../engine/engineFixtures.ts";
import {scratchDir} from "../engine/runtimeHelpers.ts";

const repo = fileURLToPath(new URL("../..", import.meta.url));
const runs = 20;

interface Run {
    readonly code: number | null;
    readonly signal: NodeJS.Signals | null;
    readonly stderr: string;
    readonly stdout: string;
}

function groupAlive(pgid: number): boolean {
    try {
        process.kill(-pgid, 0);
        return true;
    } catch {
        return false;
    }
}

/** Starts `npm start`, sends `lines`, SIGTERMs the process group once each has its answer, and waits for every process of the group to end. */
async function chatThenStop(env: Record<string, string>, lines: string[]): Promise<Run> {
    const child = spawn("npm", ["start"], {cwd: repo, env, detached: true, stdio: ["pipe", "pipe", "pipe"]});
    const pgid = child.pid!;
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const exited = new Promise<{code: number | null; signal: NodeJS.Signals | null}>((resolve) => child.on("exit", (code, signal) => resolve({code, signal})));
    child.stdin.write(lines.map((line) => `${line}\n`).join(""));
    const answers = (): number => stdout.split("\n").filter((l) => l.startsWith("bot: ")).length;
    try {
        while (answers() < lines.length) {
            if (child.exitCode !== null) throw new Error(`npm start ended before replying: ${stderr}`);
            await sleep(50);
        }
        process.kill(-pgid, "SIGTERM");
        const {code, signal} = await exited;
        for (let waited = 0; groupAlive(pgid); waited += 50) {
            if (waited > 60_000) throw new Error("a process of the group outlived npm");
            await sleep(50);
        }
        return {code, signal, stderr, stdout};
    } finally {
        if (groupAlive(pgid)) process.kill(-pgid, "SIGKILL");
    }
}

describe("npm start under SIGTERM to its process group", () => {
    let dir: string;
    let env: Record<string, string>;
    beforeAll(() => {
        dir = scratchDir();
        env = {
            PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? dir,
            RWKV_MODEL_PATH: modelPath("tiny-L3-C128-V1024.fp32.pth"), RWKV_VOCAB: join(dir, "vocab.txt"), ENGINE_PRECISION: "fp32",
            ENGINE_THREADS: "1", ENGINE_SLOTS: "2", BOT_DATA_DIR: join(dir, "data"), SAMPLING_TEMPERATURE: "0", REPLY_MAX_TOKENS: "8",
            CONSOLE_CONVERSATION: "signals",
            // Only the shutdown may checkpoint: a quiet-time checkpoint would hide a missing final one.
            CHECKPOINT_QUIET_MS: "86400000", CHECKPOINT_EVERY_TOKENS: "1000000",
        };
    });
    afterAll(() => rmSync(dir, {recursive: true, force: true}));

    it(`shuts down cleanly ${runs} times in a row, each time with the final checkpoint written`, async () => {
        for (let run = 1; run <= runs; run++) {
            const result = await chatThenStop(env, ["/status", `message number ${run}`]);
            const context = `run ${run}: ${result.stdout}\n${result.stderr}`;
            expect(result.stdout, context).toContain(run === 1 ? "last checkpoint: none yet" : `last checkpoint: after turn ${2 * (run - 1)} (found at restore)`);
            expect({code: result.code, signal: result.signal}, context).toEqual({code: 0, signal: null});
            expect(result.stderr, context).toContain("SIGTERM received: shutting down");
            // Off a terminal the log is JSON lines (npm's own lines around them are not).
            const logged = result.stderr.split("\n").filter((line) => line.startsWith("{")).map((line) => JSON.parse(line) as {level: number; msg: string});
            expect(logged.filter((line) => line.level === 30).map((line) => line.msg), context).toContain("stopped cleanly");
            // npm's forwarded copy of the signal may come late on a loaded machine and be taken for a second one: harmless, and said so.
            const problems = logged.filter((line) => line.level >= 40 && !line.msg.includes("received again: still shutting down cleanly"));
            expect(problems, context).toEqual([]);
        }
        const db = await openDatabase({dataDir: join(dir, "data"), migrate: false});
        try {
            const conversation = await db.prisma.conversation.findUniqueOrThrow({where: {key: "console:signals"}});
            expect(conversation).toMatchObject({epoch: 0, logLength: 2 * runs, leaseOwner: null});
            const latest = await db.prisma.checkpoint.findFirstOrThrow({where: {conversationId: conversation.id}, orderBy: {id: "desc"}});
            expect(latest).toMatchObject({reason: "shutdown", logSeq: 2 * runs});
        } finally {
            await db.close();
        }
    }, runs * 120_000);
});
