import {EventEmitter} from "node:events";
import {describe, expect, it} from "vitest";
import {handleStopSignals} from "../../../src/app/handleStopSignals.ts";
import type {Logger} from "../../../src/core/Logger.ts";
import {recordingLog} from "../../helpers/testLoggers.ts";

function harness(): {emit(signal: "SIGINT" | "SIGTERM", atMs: number): void; stops: number; exits: number[]; lines: string[]; remove: () => void} {
    const target = new EventEmitter();
    let clock = 0;
    const lines: string[] = [];
    const recorded = recordingLog();
    const log: Logger = {...recorded, info: (m) => lines.push(`info ${m}`), warn: (m) => lines.push(`warn ${m}`), error: (m) => lines.push(`error ${m}`)};
    const state = {
        stops: 0,
        exits: [] as number[],
        lines,
        emit(signal: "SIGINT" | "SIGTERM", atMs: number) {
            clock = atMs;
            target.emit(signal, signal);
        },
        remove: () => undefined as void,
    };
    state.remove = handleStopSignals({
        onStop: () => state.stops++,
        exit: ((code: number) => void state.exits.push(code)) as (code: number) => never,
        log, target, now: () => clock,
    });
    return state;
}

describe("handleStopSignals", () => {
    it("starts one graceful shutdown; a second signal does not cut it short; the third forces the exit, saying so", () => {
        const h = harness();
        h.emit("SIGTERM", 0);
        expect(h.stops).toBe(1);
        h.emit("SIGTERM", 5000);
        expect(h.stops).toBe(1);
        expect(h.exits).toEqual([]);
        expect(h.lines[1]).toMatch(/^warn SIGTERM received again: still shutting down cleanly; a third signal forces the exit/);
        h.emit("SIGINT", 9000);
        expect(h.exits).toEqual([130]);
        expect(h.lines[2]).toMatch(/^error SIGINT received a third time: forcing the exit/);
    });

    it("counts one signal delivered twice at once (process group + npm's forwarding) as one", () => {
        const h = harness();
        h.emit("SIGTERM", 100);
        h.emit("SIGTERM", 101);
        h.emit("SIGTERM", 150);
        expect(h.stops).toBe(1);
        expect(h.lines).toHaveLength(1);
        h.emit("SIGTERM", 3000);
        h.emit("SIGTERM", 3001);
        expect(h.exits).toEqual([]);
        h.emit("SIGTERM", 6000);
        expect(h.exits).toEqual([143]);
    });

    it("removes its handlers", () => {
        const h = harness();
        h.remove();
        h.emit("SIGTERM", 0);
        expect(h.stops).toBe(0);
    });
});
