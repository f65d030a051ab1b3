import {describe, expect, it} from "vitest";
import {InFlightTurns} from "../../../adapters/shared/InFlightTurns.ts";

function deferred(): {promise: Promise<void>, resolve: () => void, reject: (error: Error) => void} {
    let resolve!: () => void;
    let reject!: (error: Error) => void;
    const promise = new Promise<void>((yes, no) => ((resolve = yes), (reject = no)));
    promise.catch(() => undefined);
    return {promise, resolve, reject};
}

describe("InFlightTurns", () => {
    it("aborts only the turns tracked under an id, and only while they run", async () => {
        const turns = new InFlightTurns();
        const [a, b, done] = [new AbortController(), new AbortController(), new AbortController()];
        const finished = deferred();
        turns.track("m1", a, deferred().promise);
        turns.track("m2", b, deferred().promise);
        turns.track("m3", done, finished.promise);
        finished.resolve();
        await finished.promise;
        await Promise.resolve();
        turns.abort("m1", "deleted");
        turns.abort("m3", "deleted");
        expect([a.signal.aborted, b.signal.aborted, done.signal.aborted]).toEqual([true, false, false]);
        expect(a.signal.reason).toBe("deleted");
    });

    it("aborts everything still running, and settles once all have, failures included", async () => {
        const turns = new InFlightTurns();
        const [one, two] = [deferred(), deferred()];
        const [a, b] = [new AbortController(), new AbortController()];
        turns.track(undefined, a, one.promise);
        turns.track("x", b, two.promise);
        turns.abortAll("stopping");
        expect([a.signal.reason, b.signal.reason]).toEqual(["stopping", "stopping"]);
        let settled = false;
        const waiting = turns.settled().then(() => (settled = true));
        one.resolve();
        await new Promise((resolve) => setTimeout(resolve, 10));
        expect(settled).toBe(false);
        two.reject(new Error("failed"));
        await waiting;
        expect(settled).toBe(true);
    });
});
