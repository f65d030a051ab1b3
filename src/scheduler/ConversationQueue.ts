/** What a queued job is: a chat turn (counted against the pending limit) or a control job (commands, checkpoints). */
export type JobKind = "turn" | "control";

interface Entry {
    readonly kind: JobKind;
    readonly controller: AbortController;
}

interface Lane {
    tail: Promise<void>;
    readonly entries: Set<Entry>;
}

/**
 * One FIFO per conversation: its jobs run one at a time, in arrival order (an RWKV state is
 * sequential). Every job gets an AbortSignal; {@link cancel} aborts the running job and every
 * queued one, which then settle at once with the abort reason instead of running.
 */
export class ConversationQueue {
    readonly #lanes = new Map<string, Lane>();

    /** Chat turns of `key` queued or running. */
    pendingTurns(key: string): number {
        let count = 0;
        for (const entry of this.#lanes.get(key)?.entries ?? []) if (entry.kind === "turn") count++;
        return count;
    }

    /** Conversations with a job queued or running. */
    busyKeys(): string[] {
        return [...this.#lanes.keys()];
    }

    /** Whether `key` has a job queued or running. */
    isBusy(key: string): boolean {
        return this.#lanes.has(key);
    }

    /**
     * Runs `job` after the jobs of `key` queued before it. `signal` (e.g. the turn's own)
     * aborts it too. Rejects with the abort reason when cancelled before it starts.
     */
    run<T>(key: string, kind: JobKind, job: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
        const lane = this.#lanes.get(key) ?? {tail: Promise.resolve(), entries: new Set<Entry>()};
        this.#lanes.set(key, lane);
        const controller = new AbortController();
        const entry: Entry = {kind, controller};
        lane.entries.add(entry);
        const forward = () => controller.abort(signal?.reason);
        if (signal?.aborted) forward();
        else signal?.addEventListener("abort", forward, {once: true});
        const result = lane.tail.then(() => {
            controller.signal.throwIfAborted();
            return job(controller.signal);
        });
        const settled = result.then(() => undefined, () => undefined).finally(() => {
            signal?.removeEventListener("abort", forward);
            lane.entries.delete(entry);
            if (lane.entries.size === 0 && this.#lanes.get(key) === lane) this.#lanes.delete(key);
        });
        lane.tail = settled;
        return result;
    }

    /** Aborts every job of `key`, running or queued, with `reason`; returns how many. */
    cancel(key: string, reason: unknown): number {
        const entries = [...this.#lanes.get(key)?.entries ?? []];
        for (const entry of entries) entry.controller.abort(reason);
        return entries.length;
    }

    /** Aborts every job of every conversation with `reason`. */
    cancelAll(reason: unknown): void {
        for (const key of this.#lanes.keys()) this.cancel(key, reason);
    }

    /** Resolves once every job queued so far has settled. */
    async drain(): Promise<void> {
        while (this.#lanes.size > 0) await Promise.all([...this.#lanes.values()].map((lane) => lane.tail));
    }
}
