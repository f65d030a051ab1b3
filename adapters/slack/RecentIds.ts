/**
 * Remembers ids seen in the last `ttlMs` (at most `capacity` of them, oldest forgotten first),
 * so that Slack's redeliveries of an event (same `event_id`, `x-slack-retry-num` ≥ 1) run once.
 */
export class RecentIds {
    readonly #seenAt = new Map<string, number>();

    constructor(
        private readonly capacity = 10_000,
        private readonly ttlMs = 60 * 60 * 1000,
        private readonly now: () => number = Date.now,
    ) {}

    /** Records `id`; true when it was already seen within the window. */
    checkAndAdd(id: string): boolean {
        const now = this.now();
        for (const [oldId, at] of this.#seenAt) {
            if (now - at < this.ttlMs && this.#seenAt.size < this.capacity) break;
            this.#seenAt.delete(oldId);
        }
        const at = this.#seenAt.get(id);
        if (at !== undefined && now - at < this.ttlMs) return true;
        this.#seenAt.set(id, now);
        return false;
    }
}
