import {EngineError} from "../errors/BotError.ts";

/**
 * Wraps a rejection of the native addon into an EngineError, keeping its
 * `engine/...` code (anything without one is `engine/internal`) and the
 * original error as `cause`.
 */
export function asEngineError(error: unknown): EngineError {
    if (error instanceof EngineError) return error;
    const code = (error as {code?: unknown} | null)?.code;
    const message = error instanceof Error ? error.message : String(error);
    return new EngineError(typeof code === "string" && code.startsWith("engine/") ? code : "engine/internal", message, {
        cause: error,
    });
}
