import Bottleneck from "bottleneck";
import {afterEach, describe, expect, it, vi} from "vitest";

import {EditThrottle} from "../../../adapters/shared/EditThrottle.ts";

describe("EditThrottle", () => {
    let throttle: EditThrottle | null = null;
    afterEach(async () => {
        await throttle?.stop();
        throttle = null;
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
            await new Promise((resolve) => setTimeout(resolve, 10));
        }
        await editor.flush();
        expect(sent.at(-1)?.text).toBe("text 30");
        for (let i = 1; i < sent.length; i += 1) {
            expect(sent[i]!.at - sent[i - 1]!.at).toBeGreaterThanOrEqual(95);
        }
        // 300 ms of updates: the first edit at once, then about one per 100 ms, never one per update.
        expect(sent.length).toBeLessThanOrEqual(Math.ceil((Date.now() - start) / 100) + 1);
        expect(sent.length).toBeGreaterThanOrEqual(2);
    });

    it("counts the per-message interval from when an edit is sent, not from when it was queued", async () => {
        const limiter = new Bottleneck({maxConcurrent: 1});
        // Other messages' edits hold the global budget: this message's first edit waits 150 ms for it.
        void limiter.schedule(() => new Promise((resolve) => setTimeout(resolve, 150)));
        throttle = new EditThrottle({minIntervalMs: 100, limiter});
        const sent: number[] = [];
        const editor = throttle.editor(async () => void sent.push(Date.now()));
        editor.update("a");
        await new Promise((resolve) => setTimeout(resolve, 160));
        editor.update("b");
        await editor.flush();
        expect(sent).toHaveLength(2);
        expect(sent[1]! - sent[0]!).toBeGreaterThanOrEqual(95);
    });

    it("shares one global budget across messages", async () => {
        throttle = new EditThrottle({minIntervalMs: 0, globalEditsPerSecond: 10});
        const times: number[] = [];
        const editors = Array.from({length: 4}, () => throttle!.editor(async () => void times.push(Date.now())));
        editors.forEach((editor, i) => editor.update(`m${i}`));
        await Promise.all(editors.map((editor) => editor.flush()));
        expect(times).toHaveLength(4);
        times.sort((a, b) => a - b);
        // 10 edits/s globally: consecutive edits at least ~100 ms apart.
        for (let i = 1; i < times.length; i += 1) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(90);
    });

    it("does not resend unchanged text and drops pending text on cancel", async () => {
        throttle = new EditThrottle({minIntervalMs: 50, globalEditsPerSecond: 1000});
        const send = vi.fn(async () => {});
        const editor = throttle.editor(send);
        editor.update("a");
        await editor.flush();
        editor.update("a");
        await editor.flush();
        expect(send).toHaveBeenCalledTimes(1);
        editor.update("b");
        editor.cancel();
        await editor.flush();
        await new Promise((resolve) => setTimeout(resolve, 80));
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
        await expect(editor.flush()).rejects.toThrow("edit refused");
        expect(errors).toHaveLength(1);
        fail = false;
        editor.update("y");
        await expect(editor.flush()).resolves.toBeUndefined();
    });
});
