import {LogLevel} from "@slack/bolt";
import type {Logger as BoltLogger} from "@slack/bolt";
import type {Logger} from "../../src/core/Logger.ts";

const order = [LogLevel.DEBUG, LogLevel.INFO, LogLevel.WARN, LogLevel.ERROR];

// Bolt logs strings, objects and errors as varargs; one line of text each, the first error kept as the cause.
function line(parts: unknown[]): {text: string; error: unknown} {
    const error = parts.find((part) => part instanceof Error);
    const text = parts.map((part) => part instanceof Error ? part.message : typeof part === "string" ? part : JSON.stringify(part)).join(" ");
    return {text, error};
}

/**
 * Bolt's logger interface over the process's logger, so that Bolt's and its Web API client's own
 * lines are JSON lines like the rest. Bolt's level (`level`, or what Bolt sets) filters first.
 */
export function boltLogger(log: Logger, level: LogLevel): BoltLogger {
    let current = level;
    let source = "bolt";
    const enabled = (wanted: LogLevel) => order.indexOf(wanted) >= order.indexOf(current);
    return {
        debug: (...parts) => void (enabled(LogLevel.DEBUG) && log.debug(line(parts).text, {source})),
        info: (...parts) => void (enabled(LogLevel.INFO) && log.info(line(parts).text, {source})),
        warn: (...parts) => {
            if (!enabled(LogLevel.WARN)) return;
            const {text, error} = line(parts);
            log.warn(text, error, {source});
        },
        error: (...parts) => {
            if (!enabled(LogLevel.ERROR)) return;
            const {text, error} = line(parts);
            log.error(text, error, {source});
        },
        setLevel: (next) => void (current = next),
        getLevel: () => current,
        setName: (name) => void (source = name),
    };
}
