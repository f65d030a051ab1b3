/**
 * Every error rwkv-bot raises on purpose carries a namespaced code
 * (`area/snake_case`). Callers branch on `code` or on the subclass; users are
 * shown a short message only for {@link UserFacingError}, logs get the cause.
 */
export class BotError extends Error {
    /** Namespaced code, e.g. `engine/bad_archive`, `store/unavailable`, `config/invalid`. */
    readonly code: string;

    constructor(code: string, message: string, options?: {cause?: unknown}) {
        super(message, options);
        this.name = new.target.name;
        this.code = code;
    }
}

/** Raised by the engine, the native addon and the model file tools: codes `engine/...`. */
export class EngineError extends BotError {}

/** Raised by the tokenizer and vocabulary loader: codes `tokenizer/...`. */
export class TokenizerError extends BotError {}

/** Raised by the persistence layer: codes `store/...`. */
export class StoreError extends BotError {}

/** Raised by configuration parsing: codes `config/...`. */
export class ConfigError extends BotError {}

/** The one kind of error whose message may be shown in a chat channel as is. */
export class UserFacingError extends BotError {}

/** Wraps an unknown thrown value once, at a boundary, keeping it as `cause`. */
export function asBotError(error: unknown, code = "internal/unexpected"): BotError {
    if (error instanceof BotError) return error;
    const message = error instanceof Error ? error.message : String(error);
    return new BotError(code, message, {cause: error});
}
