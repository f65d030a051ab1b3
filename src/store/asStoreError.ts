import {StoreError} from "../errors/BotError.ts";
import {isConnectionError} from "./isConnectionError.ts";

/**
 * A failure of the store operation `doing` as the store reports it: a
 * {@link StoreError} as it is; a lost or refused database connection as
 * `store/unavailable` (the user is told to try again); anything else as
 * `store/internal`. The original error is kept as `cause`.
 */
export function asStoreError(error: unknown, doing: string): StoreError {
    if (error instanceof StoreError) return error;
    const message = error instanceof Error ? error.message : String(error);
    if (isConnectionError(error)) return new StoreError("store/unavailable", `The database is unavailable (${doing}): ${message}`, {cause: error});
    return new StoreError("store/internal", `${doing} failed: ${message}`, {cause: error});
}
