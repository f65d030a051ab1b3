import {describe, expect, it} from "vitest";
import {SlotTable} from "../../../src/scheduler/SlotTable.ts";

function table(slots: number) {
    const events: string[] = [];
    const slotTable = new SlotTable<string>(slots, {evict: async (key, slot) => void events.push(`evict ${key}@${slot}`)});
    const acquire = (key: string) => slotTable.acquire(key, async (slot) => void events.push(`load ${key}@${slot}`));
    return {slotTable, events, acquire};
}

describe("SlotTable", () => {
    it("loads on a miss and hits afterwards", async () => {
        const {slotTable, events, acquire} = table(2);
        expect(await acquire("a")).toBe(0);
        slotTable.release("a");
        expect(await acquire("a")).toBe(0);
        slotTable.release("a");
        expect(events).toEqual(["load a@0"]);
    });

    it("evicts the least recently used unpinned slot, saving it before the new load", async () => {
        const {slotTable, events, acquire} = table(2);
        await acquire("a");
        await acquire("b");
        slotTable.release("b");
        slotTable.release("a");
        expect(await acquire("c")).toBe(1);
        expect(events).toEqual(["load a@0", "load b@1", "evict b@1", "load c@1"]);
        expect(slotTable.slotOf("b")).toBeUndefined();
    });

    it("never evicts a pinned slot: a caller waits for a release", async () => {
        const {slotTable, events, acquire} = table(1);
        await acquire("a");
        let got: number | undefined;
        const waiting = acquire("b").then((slot) => (got = slot));
        await new Promise((resolve) => setImmediate(resolve));
        expect(got).toBeUndefined();
        slotTable.release("a");
        await waiting;
        expect(got).toBe(0);
        expect(events).toEqual(["load a@0", "evict a@0", "load b@0"]);
    });

    it("frees the slot when the load fails, and forgets without saving", async () => {
        const {slotTable, events} = table(1);
        await expect(slotTable.acquire("a", async () => {
            throw new Error("db down");
        })).rejects.toThrow("db down");
        expect(slotTable.held()).toEqual([]);
        await slotTable.acquire("b", async () => undefined);
        slotTable.forget("b");
        expect(slotTable.held()).toEqual([]);
        expect(events).toEqual([]);
    });
});
