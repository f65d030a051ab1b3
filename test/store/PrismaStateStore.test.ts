import {afterAll, beforeAll, describe, expect, it} from "vitest";
import {StoreError} from "../../src/errors/BotError.ts";
import {prismaCheckpointStateReader} from "../../src/store/db/createStoreClient.ts";
import type {LeaseClaims} from "../../src/store/db/LeaseClaims.ts";
import type {Database} from "../../src/store/db/openDatabase.ts";
import {deployMigrations} from "../../src/store/db/openDatabase.ts";
import {decodeExportFile} from "../../src/store/exportFile.ts";
import {PrismaStateStore} from "../../src/store/PrismaStateStore.ts";
import {restoreConversation} from "../../src/store/restoreConversation.ts";
import type {StateDescriptor} from "../../src/store/StateDescriptor.ts";
import {databaseKinds, openTestDatabase} from "./helpers/testDatabases.ts";
import {sameBits, TinyChat, userTokens} from "./helpers/TinyChat.ts";

const settings = {platform: "console", chatFormat: "world-chat", sampling: {temperature: 1}, persona: "helpful"};
let keyCounter = 0;
const newKey = () => `console:test-${++keyCounter}`;

async function refusal(promise: Promise<unknown>): Promise<StoreError> {
    const error = await promise.then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    return error as StoreError;
}

describe.each(databaseKinds)("PrismaStateStore on %s", (kind) => {
    let db: Database & {url?: string};
    let store: PrismaStateStore;
    let chat: TinyChat;

    beforeAll(async () => {
        db = await openTestDatabase(kind);
        store = new PrismaStateStore(db, {owner: "process-a", keepCheckpoints: 3});
        chat = await TinyChat.load();
    });
    afterAll(async () => {
        await chat?.dispose();
        await db?.close();
    });

    /** A leased conversation with `turns` scripted exchanges played on the engine; returns the state after them. */
    async function conversationWith(key: string, turns: number, checkpointEvery = 0): Promise<Float32Array> {
        const record = await store.openConversation(key, settings);
        await store.acquireLease(key);
        await chat.replayer.load(null);
        for (let n = 1; n <= turns; n++) {
            const user = userTokens(n);
            await chat.feed(user);
            await store.appendTurn(key, {epoch: record.epoch, role: "user", text: `message ${n}`, tokens: user});
            const logged = await store.appendTurn(key, {epoch: record.epoch, role: "assistant", text: `reply ${n}`, tokens: await chat.reply()});
            if (checkpointEvery > 0 && n % checkpointEvery === 0) {
                await store.checkpoint(key, {epoch: record.epoch, logSeq: logged.seq, state: await chat.state(), descriptor: chat.descriptor, reason: "tokens"});
            }
        }
        return chat.state();
    }

    /** Restores `key` into the engine's slot and returns the outcome and the state. */
    async function restore(key: string) {
        const outcome = await restoreConversation(store, key, chat.replayer);
        return {outcome, state: await chat.state()};
    }

    it("migrates an empty database, and a second deploy applies nothing", async () => {
        const target = kind === "postgres" ? {url: db.url!} : null;
        if (target !== null) expect(await deployMigrations(target)).toEqual([]);
        const tables = await db.prisma.$queryRaw<{name: string}[]>`SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`;
        expect(tables.map((t) => t.name)).toEqual(["_prisma_migrations", "checkpoint", "conversation", "turn"]);
        const applied = await db.prisma.$queryRaw<{migration_name: string, finished: boolean}[]>`SELECT migration_name, finished_at IS NOT NULL AS finished FROM _prisma_migrations ORDER BY migration_name`;
        expect(applied).toEqual(["init", "turn_id", "drop_lease_expiry"].map((name) => ({migration_name: expect.stringMatching(new RegExp(`^\\d{14}_${name}$`)), finished: true})));
    });

    it("restores the latest checkpoint plus replay to exactly the live state", async () => {
        const key = newKey();
        const live = await conversationWith(key, 7, 3);
        const {outcome, state} = await restore(key);
        expect(outcome).toMatchObject({epoch: 0, logLength: 14, fromLogSeq: 12, refusals: []});
        const turns = await store.transcript(key);
        expect(outcome.replayedTokens).toBe(turns[12]!.tokens.length + turns[13]!.tokens.length);
        expect(sameBits(state, live)).toBe(true);
    });

    it("logs every turn with its exact tokens, in order", async () => {
        const key = newKey();
        await conversationWith(key, 3);
        const turns = await store.transcript(key);
        expect(turns.map((t) => [t.seq, t.role, t.text])).toEqual([
            [1, "user", "message 1"], [2, "assistant", "reply 1"], [3, "user", "message 2"], [4, "assistant", "reply 2"], [5, "user", "message 3"], [6, "assistant", "reply 3"],
        ]);
        expect(turns[2]!.tokens).toEqual(userTokens(2));
        expect((await store.openConversation(key, settings)).tokenCount).toBe(turns.reduce((n, t) => n + t.tokens.length, 0));
    });

    it("keeps only the last K checkpoints and never loads blobs it does not need", async () => {
        const key = newKey();
        await conversationWith(key, 5, 1);
        const rows = await db.prisma.checkpoint.findMany({where: {conversation: {key}}, orderBy: {logSeq: "asc"}});
        expect(rows.map((r) => r.logSeq)).toEqual([6, 8, 10]);
        expect("state" in rows[0]!).toBe(false);
        expect(rows[0]).toMatchObject({modelId: chat.descriptor.modelId, codecVersion: 1, dtype: "fp32", reason: "tokens"});
    });

    it("reads a checkpoint's blob byte for byte by its fast path, and nothing for a missing row", async () => {
        const key = newKey();
        await conversationWith(key, 1, 1);
        const [{id}] = await db.prisma.checkpoint.findMany({where: {conversation: {key}}, select: {id: true}}) as [{id: bigint}];
        const fast = await db.readCheckpointState(id);
        const viaPrisma = await prismaCheckpointStateReader(db.prisma)(id);
        expect(fast).not.toBeNull();
        expect(Buffer.from(fast!).equals(Buffer.from(viaPrisma!))).toBe(true);
        expect(await db.readCheckpointState(id + 1000n)).toBeNull();
    });

    it("refuses a second process on a leased conversation, and lets it in once the lease is released", async () => {
        const key = newKey();
        await conversationWith(key, 1);
        const other = new PrismaStateStore(db, {owner: "process-b"});
        expect((await refusal(other.acquireLease(key))).code).toBe("store/busy_elsewhere");
        expect((await refusal(other.appendTurn(key, {epoch: 0, role: "user", text: "x", tokens: [1]}))).code).toBe("store/busy_elsewhere");
        await store.releaseLease(key);
        await other.acquireLease(key);
        expect((await refusal(store.appendTurn(key, {epoch: 0, role: "user", text: "x", tokens: [1]}))).code).toBe("store/busy_elsewhere");
        await other.releaseLease(key);
    });

    it("changes settings in place: epoch, log and checkpoints stay, and only the lease holder may", async () => {
        const key = newKey();
        const live = await conversationWith(key, 3, 2);
        const before = await store.openConversation(key, settings);
        const transcript = await store.transcript(key);
        const checkpoints = await db.prisma.checkpoint.findMany({where: {conversation: {key}}});
        const changed = await store.updateSettings(key, {chatFormat: "seed", sampling: {temperature: 0.5}});
        expect(changed).toEqual({...before, settings: {...before.settings, chatFormat: "seed", sampling: {temperature: 0.5}}});
        const cleared = await store.updateSettings(key, {persona: null});
        expect(cleared).toEqual({...changed, settings: {...changed.settings, persona: null}});
        expect(await store.openConversation(key, settings)).toEqual(cleared);
        expect(await store.transcript(key)).toEqual(transcript);
        expect(await db.prisma.checkpoint.findMany({where: {conversation: {key}}})).toEqual(checkpoints);
        const {outcome, state} = await restore(key);
        expect(outcome).toMatchObject({epoch: 0, logLength: 6, fromLogSeq: 4, refusals: []});
        expect(sameBits(state, live)).toBe(true);

        const other = new PrismaStateStore(db, {owner: "process-b"});
        expect((await refusal(other.updateSettings(key, {chatFormat: "chat"}))).code).toBe("store/busy_elsewhere");
        expect((await refusal(store.updateSettings(newKey(), {chatFormat: "chat"}))).code).toBe("store/not_found");
        expect(await store.openConversation(key, settings)).toEqual(cleared);
    });

    it("logs a message's platform id once per conversation and finds its logged reply by it, in a later epoch too", async () => {
        const key = newKey();
        const {epoch} = await store.openConversation(key, settings);
        await store.acquireLease(key);
        expect(await store.loggedAnswer(key, "Ev1")).toBeNull();
        await store.appendTurns(key, [
            {epoch, role: "user", text: "hello", tokens: [1], turnId: "Ev1"},
            {epoch, role: "assistant", text: "hi there", tokens: [2]},
        ]);
        expect(await store.loggedAnswer(key, "Ev1")).toEqual({epoch, reply: "hi there"});
        // The same message again (a claimant that did not look first): refused whole, the log unchanged.
        const again = await refusal(store.appendTurns(key, [
            {epoch, role: "user", text: "hello", tokens: [1], turnId: "Ev1"},
            {epoch, role: "assistant", text: "another reply", tokens: [3]},
        ]));
        expect(again.code).toBe("store/already_logged");
        expect((await store.transcript(key)).map((turn) => turn.text)).toEqual(["hello", "hi there"]);
        // Another conversation may log the same id (ids are unique per platform, the constraint per conversation).
        const other = newKey();
        const second = await store.openConversation(other, settings);
        await store.acquireLease(other);
        await store.appendTurn(other, {epoch: second.epoch, role: "user", text: "alone", tokens: [4], turnId: "Ev1"});
        expect(await store.loggedAnswer(other, "Ev1")).toEqual({epoch: second.epoch, reply: null});
        await store.reset(key);
        expect(await store.loggedAnswer(key, "Ev1")).toEqual({epoch, reply: "hi there"});
        await store.releaseLease(key);
        await store.releaseLease(other);
    });

    it("keeps a live holder's lease however long it goes unrenewed, and frees it the moment the holder dies", async () => {
        const key = newKey();
        await store.openConversation(key, settings);
        const holder = new PrismaStateStore(db, {owner: "process-dying"});
        await holder.acquireLease(key);
        const other = new PrismaStateStore(db, {owner: "process-b"});
        // The row has no expiry any more (dropped by a migration): only the holder's death frees the lease, not a clock.
        expect(Object.keys((await db.prisma.conversation.findUnique({where: {key}}))!)).not.toContain("leaseExpiresAt");
        expect((await refusal(other.acquireLease(key))).message).toContain("another live process (process-dying)");
        await holder.close();
        await other.acquireLease(key);
        expect((await refusal(holder.appendTurn(key, {epoch: 0, role: "user", text: "x", tokens: [1]}))).code).toBe("store/busy_elsewhere");
        await other.close();
    });

    it("refuses to renew a lease whose claim was lost while another process took it and released it, then lets it be taken afresh", async () => {
        const key = newKey();
        const {epoch} = await store.openConversation(key, settings);
        let slowClaims: LeaseClaims | undefined;
        const slow = new PrismaStateStore({...db, openLeaseClaims: (owner) => (slowClaims = db.openLeaseClaims(owner))}, {owner: "process-slow"});
        await slow.acquireLease(key);
        await slow.appendTurn(key, {epoch, role: "user", text: "one", tokens: [1]});
        // As when its connection drops: the claim goes, the store does not know yet.
        const {id} = (await db.prisma.conversation.findUnique({where: {key}, select: {id: true}}))!;
        await slowClaims!.release(id);
        const other = new PrismaStateStore(db, {owner: "process-b"});
        await other.acquireLease(key);
        await other.appendTurn(key, {epoch, role: "user", text: "two", tokens: [2]});
        await other.releaseLease(key);
        // The slow holder's state lacks turn 2: renewing as if nothing happened would let it log and checkpoint past it.
        expect((await refusal(slow.acquireLease(key))).code).toBe("store/busy_elsewhere");
        expect((await refusal(slow.appendTurn(key, {epoch, role: "user", text: "three", tokens: [3]}))).code).toBe("store/busy_elsewhere");
        await slow.acquireLease(key);
        expect((await slow.transcript(key)).map((t) => t.text)).toEqual(["one", "two"]);
        await slow.close();
        await other.close();
    });

    it("renews a lease whose claim was lost while no one else took it", async () => {
        const key = newKey();
        const {epoch} = await store.openConversation(key, settings);
        let claims: LeaseClaims | undefined;
        const holder = new PrismaStateStore({...db, openLeaseClaims: (owner) => (claims = db.openLeaseClaims(owner))}, {owner: "process-blip"});
        await holder.acquireLease(key);
        const {id} = (await db.prisma.conversation.findUnique({where: {key}, select: {id: true}}))!;
        await claims!.release(id);
        await holder.acquireLease(key);
        expect(claims!.holds(id)).toBe(true);
        await holder.appendTurn(key, {epoch, role: "user", text: "still mine", tokens: [1]});
        expect((await refusal(new PrismaStateStore(db, {owner: "process-b"}).acquireLease(key))).code).toBe("store/busy_elsewhere");
        await holder.close();
    });

    it("never lets a turn in flight during a reset write back", async () => {
        const key = newKey();
        const live = await conversationWith(key, 2);
        const epochAtStart = 0;
        expect(await store.reset(key)).toBe(1);
        expect((await refusal(store.appendTurn(key, {epoch: epochAtStart, role: "assistant", text: "late", tokens: [5]}))).code).toBe("store/stale_epoch");
        expect((await refusal(store.checkpoint(key, {epoch: epochAtStart, logSeq: 4, state: live, descriptor: chat.descriptor, reason: "eviction"}))).code).toBe("store/stale_epoch");
        expect(await store.transcript(key)).toEqual([]);
        expect(await store.transcript(key, 0)).toHaveLength(4);
        const plan = await store.planRestore(key, chat.descriptor);
        expect(plan).toMatchObject({epoch: 1, logLength: 0, checkpoint: null});
        expect(plan.replayTokens).toHaveLength(0);
    });

    it("falls back past checkpoints of another model, codec version, size or checksum to an older one plus replay", async () => {
        const key = newKey();
        const live = await conversationWith(key, 5, 1);
        // Corrupt the three kept checkpoints (log positions 6, 8, 10) in three ways, add a foreign-model one on top.
        const ids = (await db.prisma.checkpoint.findMany({where: {conversation: {key}}, orderBy: {logSeq: "asc"}, select: {id: true}})).map((r) => r.id);
        await db.prisma.$executeRaw`UPDATE checkpoint SET state = substring(state from 1 for 200) WHERE id = ${ids[2]}`;
        await db.prisma.$executeRaw`UPDATE checkpoint SET state = overlay(state placing decode('ff', 'hex') from 300 for 1) WHERE id = ${ids[1]}`;
        await db.prisma.$executeRaw`UPDATE checkpoint SET "codecVersion" = 99 WHERE id = ${ids[0]}`;
        const foreign = new PrismaStateStore(db, {owner: "process-a", keepCheckpoints: 10});
        await foreign.checkpoint(key, {epoch: 0, logSeq: 10, state: live, descriptor: {...chat.descriptor, modelId: "b".repeat(64)}, reason: "eviction"});

        const plan = await store.planRestore(key, chat.descriptor);
        expect(plan.refusals.map((r) => [r.logSeq, r.reason])).toEqual([[10, "model_mismatch"], [10, "wrong_size"], [8, "checksum_mismatch"], [6, "unsupported_version"]]);
        expect(plan.checkpoint).toBeNull();
        const {outcome, state} = await restore(key);
        expect(outcome.fromLogSeq).toBe(0);
        expect(sameBits(state, live)).toBe(true);
    });

    it("round-trips a conversation through export and import as a new epoch", async () => {
        const key = newKey();
        const live = await conversationWith(key, 4, 3);
        const file = await store.exportConversation(key, chat.descriptor);
        const target = newKey();
        await store.openConversation(target, {...settings, persona: "other"});
        await store.acquireLease(target);
        expect(await store.importConversation(target, file, chat.descriptor)).toBe(1);
        expect((await store.transcript(target)).map((t) => [t.role, t.text, t.tokens])).toEqual((await store.transcript(key)).map((t) => [t.role, t.text, t.tokens]));
        expect((await store.openConversation(target, settings)).settings.persona).toBe("helpful");
        const {outcome, state} = await restore(target);
        expect(outcome).toMatchObject({epoch: 1, fromLogSeq: 6, logLength: 8});
        expect(sameBits(state, live)).toBe(true);
    });

    it("opens a new conversation from several callers at once: all get the one row", async () => {
        for (let round = 0; round < 10; round++) {
            const key = newKey();
            const opened = await Promise.all([1, 2, 3, 4].map((n) => new PrismaStateStore(db, {owner: `process-${n}`}).openConversation(key, settings)));
            expect(opened.map((r) => r.key)).toEqual([key, key, key, key]);
        }
    });

    it("exports the state with the log of its own epoch when a reset lands during the export", async () => {
        const key = newKey();
        await conversationWith(key, 2, 2);
        const racing = new PrismaStateStore(db, {owner: "process-a"});
        const planRestore = racing.planRestore.bind(racing);
        racing.planRestore = async (k, descriptor) => {
            const plan = await planRestore(k, descriptor);
            await store.reset(k);
            return plan;
        };
        const decoded = decodeExportFile(await racing.exportConversation(key, chat.descriptor), chat.descriptor);
        if (!decoded.ok) throw new Error(decoded.message);
        expect(decoded.contents.manifest.stateLogSeq).toBe(4);
        expect(decoded.contents.manifest.transcript.map((t) => t.text)).toEqual(["message 1", "reply 1", "message 2", "reply 2"]);
    });

    it("refuses truncated, foreign and other-model imports and leaves the conversation unchanged", async () => {
        const key = newKey();
        await conversationWith(key, 2, 2);
        const file = await store.exportConversation(key, chat.descriptor);
        const before = await store.openConversation(key, settings);
        const {descriptor} = chat;
        const cases: [Uint8Array, StateDescriptor, RegExp][] = [
            [file.subarray(0, file.length - 100), descriptor, /truncated/],
            [Buffer.from("PK\x03\x04 definitely not an export"), descriptor, /not an rwkv-bot conversation export/],
            [file, {...descriptor, modelId: "c".repeat(64)}, new RegExp(`snapshot is for model ${descriptor.modelId.slice(0, 12)}.*the loaded model is cccc`)],
            [file, {...descriptor, nEmbd: 16}, /dimensions/],
        ];
        for (const [bytes, descriptor, message] of cases) {
            const error = await refusal(store.importConversation(key, bytes, descriptor));
            expect(error.code).toBe("store/import_refused");
            expect(error.message).toMatch(message);
        }
        const flipped = Buffer.from(file);
        flipped[flipped.length - 40]! ^= 1;
        expect((await refusal(store.importConversation(key, flipped, descriptor))).message).toMatch(/checksum/);
        expect(await store.openConversation(key, settings)).toEqual(before);
    });
});
