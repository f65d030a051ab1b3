/**
 * The turns an adapter has handed to the core and not yet seen finish, each with its abort
 * controller: a deleted message cancels its own turn, and `stop()` cancels them all and waits
 * for their last words (sent while the platform client is still connected).
 */
export class InFlightTurns {
    readonly #turns = new Map<Promise<unknown>, {readonly id: string | undefined, readonly controller: AbortController}>();

    /** Follows `work` until it settles; `id` (e.g. the message id) lets {@link abort} find it. */
    track(id: string | undefined, controller: AbortController, work: Promise<unknown>): void {
        this.#turns.set(work, {id, controller});
        // The caller handles the work's failure; this only forgets it.
        void work.then(() => this.#turns.delete(work), () => this.#turns.delete(work));
    }

    /** Aborts the turns tracked under `id` that are still running. */
    abort(id: string, reason: unknown): void {
        for (const turn of this.#turns.values()) if (turn.id === id) turn.controller.abort(reason);
    }

    /** Aborts every turn still running. */
    abortAll(reason: unknown): void {
        for (const turn of this.#turns.values()) turn.controller.abort(reason);
    }

    /** Resolves once every turn tracked so far has settled, failed ones included. */
    async settled(): Promise<void> {
        await Promise.allSettled([...this.#turns.keys()]);
    }
}
