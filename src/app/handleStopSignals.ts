import {constants} from "node:os";
import type {Logger} from "../core/Logger.ts";

/** The part of `process` that {@link handleStopSignals} uses (a fake in tests). */
export interface SignalTarget {
    on(signal: StopSignal, listener: (signal: StopSignal) => void): unknown;
    off(signal: StopSignal, listener: (signal: StopSignal) => void): unknown;
}

export type StopSignal = "SIGINT" | "SIGTERM";

export interface StopSignalOptions {
    /** Starts the graceful shutdown; called once, on the first signal. */
    readonly onStop: () => void;
    /** Ends the process at once (the third signal); receives 128 + the signal's number. */
    readonly exit: (code: number) => never;
    readonly log: Logger;
    readonly target?: SignalTarget;
    readonly now?: () => number;
    /**
     * Signals closer than this to the last one counted are the same request delivered twice: a
     * signal to a process group reaches the bot directly and again forwarded by npm (and tsx).
     */
    readonly repeatWindowMs?: number;
}

/**
 * SIGINT and SIGTERM stop the bot gracefully, and nothing cuts that short by accident: the first
 * signal starts the shutdown (turns finish, states are checkpointed, leases released); a second
 * one is answered with a note and changes nothing; only a third forces the exit, saying what
 * that costs. Returns a function that removes the handlers.
 */
export function handleStopSignals(options: StopSignalOptions): () => void {
    const target = options.target ?? process;
    const now = options.now ?? Date.now;
    const repeatWindowMs = options.repeatWindowMs ?? 1000;
    let count = 0;
    let last = -Infinity;
    const onSignal = (signal: StopSignal): void => {
        const at = now();
        if (count > 0 && at - last < repeatWindowMs) return;
        last = at;
        count++;
        if (count === 1) {
            options.log.info(`${signal} received: shutting down (finishing replies, checkpointing conversations)`);
            options.onStop();
        } else if (count === 2) {
            options.log.warn(`${signal} received again: still shutting down cleanly; a third signal forces the exit`);
        } else {
            options.log.error(`${signal} received a third time: forcing the exit; states not yet checkpointed are restored from the turn log at the next start`);
            options.exit(128 + constants.signals[signal]);
        }
    };
    for (const signal of ["SIGINT", "SIGTERM"] as const) target.on(signal, onSignal);
    return () => {
        for (const signal of ["SIGINT", "SIGTERM"] as const) target.off(signal, onSignal);
    };
}
