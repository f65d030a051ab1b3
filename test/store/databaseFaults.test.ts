import {mkdtempSync, rmSync, writeFileSync} from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import {spawnSync} from "node:child_process";
import {afterAll, beforeAll, describe, expect, it} from "vitest";
import {StoreError} from "../../src/errors/BotError.ts";
import {openDatabase} from "../../src/store/db/openDatabase.ts";
import {PrismaStateStore} from "../../src/store/PrismaStateStore.ts";
import {createThrowawayDatabase} from "./helpers/testDatabases.ts";

/** A TCP relay to the server that the test can cut and restore, as a database going down and up. */
class CuttableRelay {
    private server: net.Server | undefined;
    private readonly sockets = new Set<net.Socket>();
    constructor(readonly port: number, private readonly target: {host: string, port: number}) {}

    async up(): Promise<void> {
        this.server = net.createServer((client) => {
            const upstream = net.connect(this.target);
            for (const s of [client, upstream]) {
                this.sockets.add(s);
                s.on("error", () => {});
                s.on("close", () => this.sockets.delete(s));
            }
            client.pipe(upstream).pipe(client);
        });
        await new Promise<void>((resolve) => this.server!.listen(this.port, "127.0.0.1", resolve));
    }

    async down(): Promise<void> {
        for (const s of this.sockets) s.destroy();
        await new Promise((resolve) => this.server?.close(resolve));
    }
}

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
        const relayPort = 20000 + Math.floor(Math.random() * 20000);
        const relay = new CuttableRelay(relayPort, {host: url.hostname, port: Number(url.port || 5432)});
        await relay.up();
        const viaRelay = new URL(url);
        viaRelay.port = String(relayPort);
        const db = await openDatabase({url: viaRelay.toString(), migrate: false});
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
});
