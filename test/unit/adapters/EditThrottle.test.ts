import Bottleneck from "bottleneck";
import {afterEach, beforeEach, describe, expect, it, vi} from "vitest";

import {EditThrottle} from "../../../adapters/shared/EditThrottle.ts";

// A controlled clock (fake timers and Date): the intervals are exact, whatever the machine's load.
describe("EditThrottle", () => {
    let throttle: EditThrottle | null = null;
    beforeEach(() => {
        vi.useFakeTimers({now: 1_000_000});
    });
    afterEach(async () => {
        const stopping = throttle?.stop();
        await vi.runAllTimersAsync();
        await stopping;
        throttle = null;
        vi.useRealTimers();
    });

    it("sends at most one edit per interval per message, always the newest text", async () => {
        throttle = new EditThrottle({minIntervalMs: 100, globalEditsPerSecond: 1000});
        const sent: Array<{text: string; at: number}> = [];
        const editor = throttle.editor(async (text) => {
            sent.push({text, at: Date.now()});
        });
        const start = Date.now();
        for (let i = 1; i <= 30; i += 1) {
            editor.update(`text ${i}`);
            await vi.advanceTimersByTimeAsync(10);
        }
        const flushed = editor.flush();
        await vi.runAllTimersAsync();
        await flushed;
        // 300 ms of updates, one every 10 ms: the first at once, then one per 100 ms (plus the
        // limiter's own ticks), each with the newest text, never one per update.
        expect(sent.map((edit) => edit.text)).toEqual(["text 1", "text 11", "text 21", "text 30"]);
        expect(sent[0]!.at - start).toBeLessThan(10);
        for (let i = 1; i < sent.length; i += 1) expect(sent[i]!.at - sent[i - 1]!.at).toBeGreaterThanOrEqual(100);
    });

    it("counts the per-message interval from when an edit is sent, not from when it was queued", async () => {
        const limiter = new Bottleneck({maxConcurrent: 1});
        // Other messages' edits hold the global budget: this message's first edit waits 150 ms for it.
        void limiter.schedule(() => new Promise((resolve) => setTimeout(resolve, 150)));
        throttle = new EditThrottle({minIntervalMs: 100, limiter});
        const sent: number[] = [];
        const start = Date.now();
        const editor = throttle.editor(async () => void sent.push(Date.now() - start));
        editor.update("a");
        await vi.advanceTimersByTimeAsync(160);
        editor.update("b");
        const flushed = editor.flush();
        await vi.runAllTimersAsync();
        await flushed;
        expect(sent).toHaveLength(2);
        expect(sent[0]).toBeGreaterThanOrEqual(150);
        expect(sent[1]! - sent[0]!).toBeGreaterThanOrEqual(100);
    });

    it("shares one global budget across messages", async () => {
        throttle = new EditThrottle({minIntervalMs: 0, globalEditsPerSecond: 10});
        const times: number[] = [];
        const editors = Array.from({length: 4}, () => throttle!.editor(async () => void times.push(Date.now())));
        editors.forEach((editor, i) => editor.update(`m${i}`));
        const flushed = Promise.all(editors.map((editor) => editor.flush()));
        await vi.runAllTimersAsync();
        await flushed;
        expect(times).toHaveLength(4);
        // 10 edits/s globally: consecutive edits 100 ms apart.
        for (let i = 1; i < times.length; i += 1) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(100);
    });

    it("does not resend unchanged text and drops pending text on cancel", async () => {
        throttle = new EditThrottle({minIntervalMs: 50, globalEditsPerSecond: 1000});
        const send = vi.fn(async () => {});
        const editor = throttle.editor(send);
        editor.update("a");
        let flushed = editor.flush();
        await vi.runAllTimersAsync();
        await flushed;
        editor.update("a");
        flushed = editor.flush();
        await vi.runAllTimersAsync();
        await flushed;
        expect(send).toHaveBeenCalledTimes(1);
        editor.update("b");
        editor.cancel();
        flushed = editor.flush();
        await vi.runAllTimersAsync();
        await flushed;
        expect(send).toHaveBeenCalledTimes(1);
    });

    it("reports a failed final edit from flush and a failed intermediate one to onError", async () => {
        const errors: unknown[] = [];
        throttle = new EditThrottle({minIntervalMs: 20, globalEditsPerSecond: 1000, onError: (e) => errors.push(e)});
        let fail = true;
        const editor = throttle.editor(async () => {
            if (fail) throw new Error("edit refused");
        });
        editor.update("x");
        const failed = expect(editor.flush()).rejects.toThrow("edit refused");
        await vi.runAllTimersAsync();
        await failed;
        expect(errors).toHaveLength(1);
        fail = false;
        editor.update("y");
        const passed = expect(editor.flush()).resolves.toBeUndefined();
        await vi.runAllTimersAsync();
        await passed;
    });
});
