import {spawn} from "node:child_process";
import path from "node:path";
import {afterAll, beforeAll, describe, expect, it} from "vitest";
import {seededRandom} from "../helpers/seededRandom.ts";
import {PrismaStateStore} from "../../src/store/PrismaStateStore.ts";
import {restoreConversation} from "../../src/store/restoreConversation.ts";
import {createReopenableDatabase, databaseKinds} from "./helpers/testDatabases.ts";
import type {ReopenableDatabase} from "./helpers/testDatabases.ts";
import {TinyChat, userTokens} from "./helpers/TinyChat.ts";

const exchanges = 50;
const childScript = path.join(import.meta.dirname, "helpers/crashChild.ts");

/** Runs children until one finishes, SIGKILLing each earlier one after a random number of acknowledgements. */
async function runWithKills(env: Record<string, string>, kills: number, random: () => number): Promise<{acked: Set<number>, starts: number}> {
    const acked = new Set<number>();
    let starts = 0;
    for (;;) {
        starts++;
        const killAfter = starts <= kills ? 1 + Math.floor(random() * 20) : Infinity;
        const finished = await new Promise<boolean>((resolve, reject) => {
            const child = spawn(process.execPath, ["--import", "tsx", childScript], {env: {...process.env, ...env}, stdio: ["ignore", "pipe", "pipe"]});
            let seen = 0;
            let done = false;
            let stderr = "";
            let buffered = "";
            child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
            child.stdout.on("data", (chunk: Buffer) => {
                buffered += chunk.toString();
                const lines = buffered.split("\n");
                buffered = lines.pop()!;
                for (const line of lines) {
                    if (line === "done") done = true;
                    const match = /^ack (\d+)$/.exec(line);
                    if (match === null) continue;
                    acked.add(Number(match[1]));
                    if (++seen === killAfter) child.kill("SIGKILL");
                }
            });
            child.on("error", reject);
            child.on("exit", (code, signal) => {
                if (signal === "SIGKILL" || done) resolve(done);
                else reject(new Error(`child exited with ${code}: ${stderr}`));
            });
        });
        if (finished) return {acked, starts};
    }
}

/** The turns and the next greedy reply of the scripted chat played in one go, in this process. */
async function uninterruptedRun(): Promise<{turns: number[][], nextReply: number[]}> {
    const chat = await TinyChat.load();
    try {
        const turns: number[][] = [];
        for (let n = 1; n <= exchanges; n++) {
            turns.push(userTokens(n));
            await chat.feed(userTokens(n));
            turns.push(await chat.reply());
        }
        await chat.feed(userTokens(exchanges + 1));
        return {turns, nextReply: await chat.reply()};
    } finally {
        await chat.dispose();
    }
}

describe.each(databaseKinds)("crash recovery on %s", (kind) => {
    let database: ReopenableDatabase;

    beforeAll(async () => {
        database = await createReopenableDatabase(kind);
    });
    afterAll(async () => {
        await database?.drop();
    });

    it("keeps every acknowledged turn across SIGKILLs and then replies as an uninterrupted run", async () => {
        const random = seededRandom(`crash test on ${kind}`);
        const {acked, starts} = await runWithKills({CRASH_DB_OPTIONS: JSON.stringify(database.options)}, kind === "postgres" ? 5 : 2, random.next);
        expect(starts).toBeGreaterThan(1);
        const expected = await uninterruptedRun();

        const db = await database.open();
        const chat = await TinyChat.load();
        try {
            const store = new PrismaStateStore(db, {owner: "verifier"});
            const turns = await store.transcript("console:crash");
            expect(turns.map((t) => t.seq)).toEqual(Array.from({length: 2 * exchanges}, (_, i) => i + 1));
            for (const seq of acked) expect(seq).toBeLessThanOrEqual(turns.length);
            // Nothing doubled, nothing lost, nothing changed: the log of the uninterrupted run.
            expect(turns.map((t) => t.tokens)).toEqual(expected.turns);
            await restoreConversation(store, "console:crash", chat.replayer);
            await chat.feed(userTokens(exchanges + 1));
            expect(await chat.reply()).toEqual(expected.nextReply);
        } finally {
            await chat.dispose();
            await db.close();
        }
    });
});
