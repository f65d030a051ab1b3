/**
 * Tokens per second over a sliding window (the last minute by default), in one-second buckets:
 * what `status` shows as the engine's recent speed. The clock is injectable for tests.
 */
export class TokenRate {
    readonly #buckets: number[];
    readonly #now: () => number;
    // The second the newest bucket counts; older buckets are cleared as time moves past them.
    #second: number;

    constructor(options: {windowSeconds?: number; now?: () => number} = {}) {
        this.#buckets = new Array<number>(options.windowSeconds ?? 60).fill(0);
        this.#now = options.now ?? (() => performance.now());
        this.#second = Math.floor(this.#now() / 1000);
    }

    /** Counts `count` tokens now. */
    add(count: number): void {
        this.#advance();
        const at = this.#second % this.#buckets.length;
        this.#buckets[at] = (this.#buckets[at] ?? 0) + count;
    }

    /** Tokens per second over the window ending now. */
    perSecond(): number {
        this.#advance();
        return this.#buckets.reduce((sum, n) => sum + n, 0) / this.#buckets.length;
    }

    #advance(): void {
        const second = Math.floor(this.#now() / 1000);
        const passed = Math.min(second - this.#second, this.#buckets.length);
        for (let i = 1; i <= passed; i++) this.#buckets[(this.#second + i) % this.#buckets.length] = 0;
        this.#second = Math.max(second, this.#second);
    }
}
