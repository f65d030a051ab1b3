import {Writable} from "node:stream";
import type {LogFields, Logger} from "../../src/core/Logger.ts";
import {createLogger} from "../../src/ops/createLogger.ts";
import type {LogLevel} from "../../src/ops/createLogger.ts";

/** The real logger, writing nothing. */
export const silentLog: Logger = createLogger({level: "silent", format: "json"});

/** One call to a {@link recordingLog}. */
export interface LogEntry {
    readonly level: "debug" | "info" | "warn" | "error";
    readonly message: string;
    readonly error?: unknown;
    readonly fields: LogFields;
}

/** A logger that keeps its calls (children share them), for asserting what a part logs. */
export function recordingLog(entries: LogEntry[] = [], bound: LogFields = {}): Logger & {entries: LogEntry[]} {
    const push = (level: LogEntry["level"], message: string, error: unknown, fields: LogFields | undefined) =>
        entries.push({level, message, ...(error === undefined ? {} : {error}), fields: {...bound, ...fields}});
    return {
        entries,
        debug: (message, fields) => push("debug", message, undefined, fields),
        info: (message, fields) => push("info", message, undefined, fields),
        warn: (message, error, fields) => push("warn", message, error, fields),
        error: (message, error, fields) => push("error", message, error, fields),
        child: (fields) => recordingLog(entries, {...bound, ...fields}),
    };
}

/** The real (pino) logger writing JSON lines into memory: `text()` is everything it wrote. */
export function jsonLog(level: LogLevel = "trace"): {log: Logger; text(): string; lines(): Record<string, unknown>[]} {
    const chunks: string[] = [];
    const destination = new Writable({
        write(chunk: Buffer, _encoding, done) {
            chunks.push(chunk.toString());
            done();
        },
    });
    const text = () => chunks.join("");
    return {
        log: createLogger({level, format: "json", destination}),
        text,
        lines: () => text().split("\n").filter((line) => line !== "").map((line) => JSON.parse(line) as Record<string, unknown>),
    };
}

/** A logger that hands each warning (message and error) to `onWarn` and drops the rest. */
export function warningsTo(onWarn: (message: string, error: unknown) => void): Logger {
    const log = recordingLog();
    return {...log, warn: (message, error) => onWarn(message, error), child: () => warningsTo(onWarn)};
}
