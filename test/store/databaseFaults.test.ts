import {mkdtempSync, rmSync, writeFileSync} from "node:fs";
import os from "node:os";
import path from "node:path";
import {spawnSync} from "node:child_process";
import {afterAll, beforeAll, describe, expect, it} from "vitest";
import {StoreError} from "../../src/errors/BotError.ts";
import {DataDirLock} from "../../src/store/db/DataDirLock.ts";
import {openDatabase} from "../../src/store/db/openDatabase.ts";
import {PrismaStateStore} from "../../src/store/PrismaStateStore.ts";
import {stateElementCount} from "../../src/store/StateDescriptor.ts";
import type {StateDescriptor} from "../../src/store/StateDescriptor.ts";
import {CuttableRelay} from "./helpers/CuttableRelay.ts";
import {createThrowawayDatabase} from "./helpers/testDatabases.ts";

// A state of two numbers per channel: checkpoints go through the real codec, without a model.
const descriptor: StateDescriptor = {modelId: "a".repeat(64), nLayer: 1, nEmbd: 2, nHead: 1, headSize: 2};

describe("the database going away", () => {
    let url: URL;
    let drop: () => Promise<void>;
    beforeAll(async () => {
        const throwaway = await createThrowawayDatabase();
        url = new URL(throwaway.url);
        drop = throwaway.drop;
        await (await openDatabase({url: url.toString()})).close();
    });
    afterAll(async () => {
        await drop?.();
    });

    it("at start: retries, then fails with a clear store/unavailable", async () => {
        const attempts: number[] = [];
        const error = await openDatabase({url: "postgresql://u:secret@127.0.0.1:1/x", connectAttempts: 2, retryDelayMs: 10, onRetry: (_e, n) => attempts.push(n)}).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(StoreError);
        expect((error as StoreError).code).toBe("store/unavailable");
        expect((error as StoreError).message).toMatch(/Cannot reach the database at postgresql:\/\/u:\*\*\*@127\.0\.0\.1:1\/x \(attempt 2 of 2\)/);
        expect(attempts).toEqual([1]);
    });

    it("mid-run: a turn append is retried until the database is back, and nothing is lost or doubled", async () => {
        const {relay, url: viaRelay} = await CuttableRelay.to(url.toString());
        const db = await openDatabase({url: viaRelay, migrate: false});
        try {
            const store = new PrismaStateStore(db, {owner: "a", appendAttempts: 6, retryDelayMs: 100});
            const key = "console:faults";
            await store.openConversation(key, {platform: "console", chatFormat: "world-chat"});
            await store.acquireLease(key);
            await store.appendTurn(key, {epoch: 0, role: "user", text: "before", tokens: [1]});

            await relay.down();
            const pending = store.appendTurn(key, {epoch: 0, role: "assistant", text: "during", tokens: [2]});
            await new Promise((resolve) => setTimeout(resolve, 400));
            await relay.up();
            expect((await pending).seq).toBe(2);

            await relay.down();
            const error = await store.appendTurn(key, {epoch: 0, role: "user", text: "lost", tokens: [3]}).catch((e: unknown) => e);
            expect((error as StoreError).code).toBe("store/unavailable");
            await relay.up();
            expect((await store.transcript(key)).map((t) => t.text)).toEqual(["before", "during"]);
        } finally {
            await db.close();
            await relay.down();
        }
    });

    it("mid-run: every store operation reports store/unavailable, keeping the cause, and works again once the database is back", async () => {
        const {relay, url: viaRelay} = await CuttableRelay.to(url.toString());
        const db = await openDatabase({url: viaRelay, migrate: false});
        try {
            const store = new PrismaStateStore(db, {owner: "a", appendAttempts: 2, retryDelayMs: 10});
            const key = "console:cut";
            await store.openConversation(key, {platform: "console", chatFormat: "world-chat"});
            await store.acquireLease(key);
            const logged = await store.appendTurn(key, {epoch: 0, role: "user", text: "hi", tokens: [1, 2]});
            const checkpoint = {epoch: 0, logSeq: logged.seq, state: new Float32Array(stateElementCount(descriptor)).fill(0.5), descriptor, reason: "tokens" as const};
            await store.checkpoint(key, checkpoint);
            const file = await store.exportConversation(key, descriptor);

            await relay.down();
            const operations: [string, () => Promise<unknown>][] = [
                ["checkpoint", () => store.checkpoint(key, checkpoint)],
                ["planRestore", () => store.planRestore(key, descriptor)],
                ["reset", () => store.reset(key)],
                ["acquireLease", () => store.acquireLease(key)],
                ["updateSettings", () => store.updateSettings(key, {persona: "a cat"})],
                ["exportConversation", () => store.exportConversation(key, descriptor)],
                ["importConversation", () => store.importConversation(key, file, descriptor)],
                ["transcript", () => store.transcript(key)],
                ["openConversation", () => store.openConversation(key, {platform: "console", chatFormat: "world-chat"})],
                ["appendTurn", () => store.appendTurn(key, {epoch: 0, role: "user", text: "lost", tokens: [3]})],
                ["releaseLease", () => store.releaseLease(key)],
            ];
            for (const [name, operation] of operations) {
                const error = await operation().then(() => null, (e: unknown) => e);
                expect({name, error}).toMatchObject({name, error: expect.any(StoreError)});
                expect({name, code: (error as StoreError).code}).toEqual({name, code: "store/unavailable"});
                expect((error as StoreError).cause).toBeDefined();
            }

            await relay.up();
            expect(await store.reset(key)).toBe(1);
            expect(await store.transcript(key, 0)).toHaveLength(1);
        } finally {
            await db.close();
            await relay.down();
        }
    });

    it("a turn the database refuses as bad data is not retried, and is not called unavailable", async () => {
        const db = await openDatabase({url: url.toString(), migrate: false});
        try {
            // Each try of an append is one transaction: counted on the way to the client.
            let transactions = 0;
            const prisma = new Proxy(db.prisma, {get: (target, name, receiver) => {
                const value: unknown = Reflect.get(target, name, receiver);
                if (name !== "$transaction") return value;
                return (...args: unknown[]) => {
                    transactions++;
                    return Reflect.apply(value as (...a: unknown[]) => unknown, target, args);
                };
            }});
            const store = new PrismaStateStore({...db, prisma}, {owner: "a", appendAttempts: 3, retryDelayMs: 10});
            const key = "console:bad-data";
            await store.openConversation(key, {platform: "console", chatFormat: "world-chat"});
            await store.acquireLease(key);
            // A token id past int4: Postgres refuses the insert (SQLSTATE 22003) on every try.
            const error = await store.appendTurn(key, {epoch: 0, role: "user", text: "too big", tokens: [2 ** 31]}).catch((e: unknown) => e);
            expect(transactions).toBe(1);
            expect(error).toBeInstanceOf(StoreError);
            expect((error as StoreError).code).toBe("store/internal");
            expect((error as StoreError).message).toMatch(/logging a turn of console:bad-data failed/);
            expect((error as StoreError).cause).toBeInstanceOf(Error);
            expect(await store.transcript(key)).toEqual([]);
        } finally {
            await db.close();
        }
    });
});

describe("the embedded database directory", () => {
    let dir: string;
    beforeAll(() => {
        dir = mkdtempSync(path.join(os.tmpdir(), "rwkv-pglite-"));
    });
    afterAll(() => {
        rmSync(dir, {recursive: true, force: true});
    });

    it("is locked against a second opener, survives a reopen, and a dead owner's lock is taken over", async () => {
        const dataDir = path.join(dir, "nested", "db");
        const db = await openDatabase({dataDir});
        await db.prisma.conversation.create({data: {key: "k", platform: "console", chatFormat: "world-chat"}});
        const error = await openDatabase({dataDir}).catch((e: unknown) => e);
        expect((error as StoreError).code).toBe("store/data_dir_locked");
        expect((error as StoreError).message).toContain(`process ${process.pid}`);
        await db.close();

        const deadPid = spawnSync(process.execPath, ["-e", "0"]).pid!;
        writeFileSync(`${dataDir}.lock`, String(deadPid));
        const reopened = await openDatabase({dataDir});
        expect(await reopened.prisma.conversation.count()).toBe(1);
        await reopened.close();
    });

    it("closed under a running store: its operations report store/unavailable", async () => {
        const db = await openDatabase({dataDir: "memory://"});
        const store = new PrismaStateStore(db, {owner: "a", appendAttempts: 2, retryDelayMs: 10});
        const key = "console:closed";
        await store.openConversation(key, {platform: "console", chatFormat: "world-chat"});
        await store.acquireLease(key);
        await db.close();
        for (const operation of [() => store.reset(key), () => store.planRestore(key, descriptor), () => store.appendTurn(key, {epoch: 0, role: "user", text: "x", tokens: [1]})]) {
            expect(await operation().catch((e: unknown) => (e as StoreError).code)).toBe("store/unavailable");
        }
    });

    it("takes over a lock left with this very pid by a previous run (a restarted container's process keeps its pid)", () => {
        const dataDir = path.join(dir, "same-pid");
        writeFileSync(`${dataDir}.lock`, String(process.pid));
        const lock = DataDirLock.acquire(dataDir);
        expect((() => {
            try {
                DataDirLock.acquire(dataDir);
                return null;
            } catch (error) {
                return (error as StoreError).code;
            }
        })()).toBe("store/data_dir_locked");
        lock.release();
        DataDirLock.acquire(dataDir).release();
    });
});
