import {afterAll, beforeAll, describe, expect, it} from "vitest";
import {PrismaStateStore} from "../../src/store/PrismaStateStore.ts";
import {restoreConversation} from "../../src/store/restoreConversation.ts";
import type {RestoreOutcome} from "../../src/store/restoreConversation.ts";
import {createReopenableDatabase, databaseKinds} from "./helpers/testDatabases.ts";
import type {ReopenableDatabase} from "./helpers/testDatabases.ts";
import {sameBits, TinyChat, userTokens} from "./helpers/TinyChat.ts";

const key = "console:restart";
const exchanges = 8;
// Checkpoints after exchanges 2, 4 and 6: log positions 4, 8 and 12 of 16.
const checkpointEvery = 2;

describe.each(databaseKinds)("restoring the engine's state after a restart, on %s", (kind) => {
    let database: ReopenableDatabase;
    /** The state the first process held when it stopped. */
    let live: Float32Array;
    /** Tokens logged per turn, in log order. */
    let loggedTokens: number[];

    /** A fresh process: opens the database and a new engine, restores, and returns the state. */
    async function restoreInNewProcess(): Promise<{outcome: RestoreOutcome, state: Float32Array}> {
        const db = await database.open();
        const chat = await TinyChat.load();
        try {
            const store = new PrismaStateStore(db, {owner: "second"});
            const outcome = await restoreConversation(store, key, chat.replayer);
            return {outcome, state: await chat.state()};
        } finally {
            await chat.dispose();
            await db.close();
        }
    }

    const tokensAfter = (logSeq: number) => loggedTokens.slice(logSeq).reduce((sum, tokens) => sum + tokens, 0);

    beforeAll(async () => {
        database = await createReopenableDatabase(kind);
        const db = await database.open();
        const chat = await TinyChat.load();
        try {
            const store = new PrismaStateStore(db, {owner: "first", keepCheckpoints: 3});
            const {epoch} = await store.openConversation(key, {platform: "console", chatFormat: "chat"});
            await store.acquireLease(key);
            for (let n = 1; n <= exchanges; n++) {
                await chat.feed(userTokens(n));
                await store.appendTurn(key, {epoch, role: "user", text: `message ${n}`, tokens: userTokens(n)});
                const logged = await store.appendTurn(key, {epoch, role: "assistant", text: `reply ${n}`, tokens: await chat.reply()});
                if (n % checkpointEvery === 0 && n < exchanges) {
                    await store.checkpoint(key, {epoch, logSeq: logged.seq, state: await chat.state(), descriptor: chat.descriptor, reason: "tokens"});
                }
            }
            live = await chat.state();
            loggedTokens = (await store.transcript(key)).map((turn) => turn.tokens.length);
            await store.releaseLease(key);
        } finally {
            await chat.dispose();
            await db.close();
        }
    });
    afterAll(async () => {
        await database?.drop();
    });

    it("equals the state before the restart bit for bit: the latest checkpoint plus the logged tokens after it", async () => {
        const {outcome, state} = await restoreInNewProcess();
        expect(outcome).toMatchObject({epoch: 0, logLength: 2 * exchanges, fromLogSeq: 12, refusals: []});
        expect(outcome.replayedTokens).toBe(tokensAfter(12));
        expect(outcome.replayedTokens).toBeGreaterThan(0);
        expect(sameBits(state, live)).toBe(true);
    });

    it("falls back past a corrupt checkpoint, replays more of the log, and is still bit for bit", async () => {
        const db = await database.open();
        try {
            // One flipped payload bit in the newest checkpoint (the header is 144 bytes).
            await db.prisma.$executeRaw`UPDATE checkpoint SET state = set_byte(state, 1000, get_byte(state, 1000) # 1) WHERE "logSeq" = 12`;
        } finally {
            await db.close();
        }
        const {outcome, state} = await restoreInNewProcess();
        expect(outcome.refusals.map((r) => [r.logSeq, r.reason])).toEqual([[12, "checksum_mismatch"]]);
        expect(outcome.fromLogSeq).toBe(8);
        expect(outcome.replayedTokens).toBe(tokensAfter(8));
        expect(sameBits(state, live)).toBe(true);
    });
});
