import pino from "pino";
import type {DestinationStream, Level, Logger as Pino} from "pino";
import PinoPretty from "pino-pretty";
import type {LogFields, Logger} from "../core/Logger.ts";
import {BotError} from "../errors/BotError.ts";

/** The levels `LOG_LEVEL` takes, quietest last. */
export const logLevels = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const satisfies readonly (Level | "silent")[];
export type LogLevel = (typeof logLevels)[number];

/** How lines are written: JSON (one object a line), readable text, or JSON unless the destination is a terminal. */
export const logFormats = ["auto", "json", "pretty"] as const;
export type LogFormat = (typeof logFormats)[number];

/** Options of {@link createLogger}. */
export interface LoggerOptions {
    readonly level: LogLevel;
    readonly format: LogFormat;
    /** Defaults to stderr: stdout is the console adapter's chat. */
    readonly destination?: DestinationStream & {isTTY?: boolean};
}

// Whatever a caller hands in by mistake under these keys is censored, not written.
const redactedPaths = ["token", "secret", "password", "authorization", "text", "*.token", "*.secret", "*.password", "*.authorization", "headers.authorization"];

/** The process's logger: pino, JSON lines off a terminal and readable lines on one. */
export function createLogger(options: LoggerOptions): Logger {
    const destination = options.destination ?? pino.destination({dest: 2, sync: true});
    const pretty = options.format === "pretty" || (options.format === "auto" && (options.destination === undefined ? process.stderr.isTTY : options.destination.isTTY === true));
    const stream = pretty ? PinoPretty({destination, sync: true, translateTime: "SYS:HH:MM:ss.l", ignore: "pid,hostname"}) : destination;
    return wrap(pino({level: options.level, redact: {paths: redactedPaths, censor: "[redacted]"}, serializers: {err: serializeError}}, stream));
}

function wrap(log: Pino): Logger {
    return {
        debug: (message, fields) => log.debug({...fields}, message),
        info: (message, fields) => log.info({...fields}, message),
        warn: (message, error, fields) => log.warn(withError(fields, error), message),
        error: (message, error, fields) => log.error(withError(fields, error), message),
        child: (fields) => wrap(log.child({...fields})),
    };
}

function withError(fields: LogFields | undefined, error: unknown): Record<string, unknown> {
    return error === undefined ? {...fields} : {...fields, err: error};
}

// Expected failures by code and message (their stack says nothing new); anything else with its stack.
function serializeError(error: unknown): unknown {
    if (error instanceof BotError) return {type: error.name, code: error.code, message: error.message, ...(error.cause === undefined ? {} : {cause: serializeError(error.cause)})};
    if (error instanceof Error) return pino.stdSerializers.err(error);
    return {message: String(error)};
}
