import {mkdtempSync, readdirSync, rmSync, writeFileSync} from "node:fs";
import os from "node:os";
import path from "node:path";
import {afterEach, beforeEach, describe, expect, it} from "vitest";
import {StoreError} from "../../../src/errors/BotError.ts";
import type {LoggedTurn, TurnInput} from "../../../src/store/StateStore.ts";
import {TurnOutbox} from "../../../src/store/TurnOutbox.ts";
import type {HeldExchange} from "../../../src/store/TurnOutbox.ts";

/** A turn log keyed by append id, as the database's unique index makes it; `failAt` turns fail as unavailable. */
class FakeLog {
    readonly turns: (TurnInput & {seq: number})[] = [];
    failAt = new Set<string>();
    epoch = 0;

    async appendTurn(_key: string, turn: TurnInput): Promise<LoggedTurn> {
        if (turn.appendId !== undefined && this.failAt.has(turn.appendId)) throw new StoreError("store/unavailable", "the database is down");
        if (turn.epoch !== this.epoch) throw new StoreError("store/stale_epoch", "reset meanwhile");
        let row = this.turns.find((t) => t.appendId === turn.appendId);
        if (row === undefined) {
            row = {...turn, seq: this.turns.length + 1};
            this.turns.push(row);
        }
        return {epoch: row.epoch, seq: row.seq, role: row.role, text: row.text, tokens: Array.from(row.tokens), createdAt: new Date(0)};
    }
}

const exchange = (n: number, epoch = 0): HeldExchange => ({epoch, turns: [
    {epoch, role: "user", text: `question ${n}`, tokens: [n], appendId: `u${n}`},
    {epoch, role: "assistant", text: `answer ${n}`, tokens: [n, n], appendId: `a${n}`},
]});

describe("TurnOutbox", () => {
    let dir: string;
    beforeEach(() => void (dir = mkdtempSync(path.join(os.tmpdir(), "rwkv-outbox-test-"))));
    afterEach(() => rmSync(dir, {recursive: true, force: true}));

    it("keeps exchanges on disk per conversation, in order, bounded by the conversations waiting", async () => {
        const outbox = new TurnOutbox(path.join(dir, "outbox"), 2);
        expect(outbox.keys()).toEqual([]);
        expect(outbox.hasRoom()).toBe(true);
        await outbox.hold("slack:T1:C1", exchange(1));
        await outbox.hold("slack:T1:C1", exchange(2));
        expect(outbox.has("slack:T1:C1")).toBe(true);
        expect(outbox.has("discord:9")).toBe(false);
        expect(outbox.hasRoom()).toBe(true);
        await outbox.hold("discord:9", exchange(3));
        expect(outbox.keys().sort()).toEqual(["discord:9", "slack:T1:C1"]);
        expect(outbox.hasRoom()).toBe(false);
        // What another process (or the next run) sees: the files alone.
        const log = new FakeLog();
        expect((await new TurnOutbox(path.join(dir, "outbox"), 2).deliver("slack:T1:C1", log)).logged.map((t) => t.text)).toEqual(["question 1", "answer 1", "question 2", "answer 2"]);
        expect(outbox.keys()).toEqual(["discord:9"]);
    });

    it("keeps everything while the store fails, and logs each turn once when it works again", async () => {
        const outbox = new TurnOutbox(dir, 10);
        await outbox.hold("k", exchange(1));
        const log = new FakeLog();
        // The user turn made it before the connection broke; the reply did not.
        log.failAt.add("a1");
        expect(await outbox.deliver("k", log).catch((e: unknown) => (e as StoreError).code)).toBe("store/unavailable");
        expect(outbox.has("k")).toBe(true);
        log.failAt.clear();
        const {logged} = await outbox.deliver("k", log);
        expect(logged.map((t) => [t.seq, t.text])).toEqual([[1, "question 1"], [2, "answer 1"]]);
        expect(log.turns.map((t) => t.appendId)).toEqual(["u1", "a1"]);
        expect(outbox.has("k")).toBe(false);
        expect(await outbox.deliver("k", log)).toEqual({logged: [], setAside: 0});
    });

    it("sets aside an exchange whose epoch a reset closed, and logs the rest", async () => {
        const outbox = new TurnOutbox(dir, 10);
        await outbox.hold("k", exchange(1, 0));
        await outbox.hold("k", exchange(2, 1));
        const log = new FakeLog();
        log.epoch = 1;
        const delivered = await outbox.deliver("k", log);
        expect(delivered.setAside).toBe(1);
        expect(delivered.logged.map((t) => t.text)).toEqual(["question 2", "answer 2"]);
        expect(readdirSync(path.join(dir, "set-aside"))).toHaveLength(1);
        expect(outbox.keys()).toEqual([]);
    });

    it("refuses a file it did not write rather than guess", async () => {
        const outbox = new TurnOutbox(dir, 10);
        await outbox.hold("k", exchange(1));
        const [name] = readdirSync(dir);
        writeFileSync(path.join(dir, name!), JSON.stringify({version: 2, key: "k", exchanges: []}));
        expect(await outbox.deliver("k", new FakeLog()).catch((e: unknown) => (e as StoreError).code)).toBe("store/outbox_unreadable");
        expect(outbox.has("k")).toBe(true);
    });
});
