import {describe, expect, it} from "vitest";
import {ConversationQueue} from "../../../src/scheduler/ConversationQueue.ts";

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("ConversationQueue", () => {
    it("runs the jobs of one conversation one at a time, in arrival order, and others in parallel", async () => {
        const queue = new ConversationQueue();
        const log: string[] = [];
        const job = (name: string) => async () => {
            log.push(`start ${name}`);
            await tick();
            log.push(`end ${name}`);
        };
        await Promise.all([queue.run("a", "turn", job("a1")), queue.run("a", "turn", job("a2")), queue.run("b", "turn", job("b1"))]);
        expect(log.indexOf("end a1")).toBeLessThan(log.indexOf("start a2"));
        expect(log.indexOf("start b1")).toBeLessThan(log.indexOf("end a1"));
        expect(queue.busyKeys()).toEqual([]);
    });

    it("counts pending turns but not control jobs", async () => {
        const queue = new ConversationQueue();
        let open!: () => void;
        const gate = new Promise<void>((resolve) => (open = resolve));
        const jobs = [queue.run("a", "turn", () => gate), queue.run("a", "turn", async () => undefined), queue.run("a", "control", async () => undefined)];
        expect(queue.pendingTurns("a")).toBe(2);
        open();
        await Promise.all(jobs);
        expect(queue.pendingTurns("a")).toBe(0);
    });

    it("cancels the running job and the queued ones, which never start", async () => {
        const queue = new ConversationQueue();
        const started: string[] = [];
        const running = queue.run("a", "turn", (signal) => new Promise((_, reject) => {
            started.push("first");
            signal.addEventListener("abort", () => reject(signal.reason));
        }));
        const queued = queue.run("a", "turn", async () => void started.push("second"));
        await tick();
        expect(queue.cancel("a", new Error("reset"))).toBe(2);
        await expect(running).rejects.toThrow("reset");
        await expect(queued).rejects.toThrow("reset");
        expect(started).toEqual(["first"]);
        await queue.run("a", "control", async () => void started.push("after"));
        expect(started).toEqual(["first", "after"]);
    });

    it("follows the turn's own signal", async () => {
        const queue = new ConversationQueue();
        const controller = new AbortController();
        controller.abort(new Error("message deleted"));
        await expect(queue.run("a", "turn", async () => "ran", controller.signal)).rejects.toThrow("message deleted");
    });
});
