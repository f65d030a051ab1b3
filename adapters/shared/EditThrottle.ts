import Bottleneck from "bottleneck";

/** Limits on how often adapters edit a streaming reply. */
export interface EditThrottleOptions {
    /** Least time between two edits of one message, in ms. Defaults to 1000. */
    readonly minIntervalMs?: number;
    /** Edits per second across every message of the process. Defaults to 5. */
    readonly globalEditsPerSecond?: number;
    /**
     * A limiter to share the global budget through (e.g. one clustered over Redis); when
     * given, `globalEditsPerSecond` is ignored and the caller owns its lifecycle.
     */
    readonly limiter?: Bottleneck;
    /** Told about a failed intermediate edit (the next edit carries the newest text anyway). */
    readonly onError?: (error: unknown) => void;
}

/** One message's coalescing editor, from {@link EditThrottle.editor}. */
export interface ThrottledEditor {
    /** Records the newest text; it is sent when the per-message and global limits allow. */
    update(text: string): void;
    /**
     * Sends the newest text if it was not sent yet (still within the limits) and resolves when
     * every edit of this message is done; rejects if that last edit failed.
     */
    flush(): Promise<void>;
    /** Drops any unsent text; later calls do nothing. */
    cancel(): void;
}

/**
 * Streaming replies change with every token, but platforms allow a few edits per second.
 * Each message keeps only its newest text and sends it at most once per `minIntervalMs`,
 * and all messages share one global budget, so a busy bot degrades to fewer, larger edits
 * instead of hitting the platform's rate limits.
 */
export class EditThrottle {
    readonly #minIntervalMs: number;
    readonly #limiter: Bottleneck;
    readonly #ownsLimiter: boolean;
    readonly #onError: (error: unknown) => void;

    constructor(options: EditThrottleOptions = {}) {
        this.#minIntervalMs = options.minIntervalMs ?? 1000;
        this.#ownsLimiter = options.limiter === undefined;
        this.#limiter = options.limiter ?? new Bottleneck({minTime: Math.ceil(1000 / (options.globalEditsPerSecond ?? 5))});
        this.#onError = options.onError ?? (() => {});
    }

    /** A coalescing editor for one message; `send` performs one platform edit. */
    editor(send: (text: string) => Promise<void>): ThrottledEditor {
        return new CoalescingEditor(send, this.#minIntervalMs, this.#limiter, this.#onError);
    }

    /** Stops the global limiter (when this throttle created it); pending edits are dropped. */
    async stop(): Promise<void> {
        if (this.#ownsLimiter) await this.#limiter.stop({dropWaitingJobs: true});
    }
}

class CoalescingEditor implements ThrottledEditor {
    #latest: string | null = null;
    #sent: string | null = null;
    #lastSentAt = -Infinity;
    #timer: NodeJS.Timeout | null = null;
    #inFlight: Promise<void> | null = null;
    #lastError: unknown = null;
    #cancelled = false;

    constructor(
        private readonly send: (text: string) => Promise<void>,
        private readonly minIntervalMs: number,
        private readonly limiter: Bottleneck,
        private readonly onError: (error: unknown) => void,
    ) {}

    update(text: string): void {
        if (this.#cancelled) return;
        this.#latest = text;
        this.#schedule();
    }

    async flush(): Promise<void> {
        if (this.#inFlight !== null) await this.#inFlight;
        if (this.#timer !== null) {
            clearTimeout(this.#timer);
            this.#timer = null;
        }
        if (!this.#cancelled && this.#pending()) {
            await sleep(this.#lastSentAt + this.minIntervalMs - Date.now());
            if (!this.#cancelled && this.#pending() && this.#inFlight === null) this.#sendLatest();
            if (this.#inFlight !== null) await this.#inFlight;
        }
        if (this.#lastError !== null) throw this.#lastError;
    }

    cancel(): void {
        this.#cancelled = true;
        if (this.#timer !== null) clearTimeout(this.#timer);
        this.#timer = null;
    }

    #pending(): boolean {
        return this.#latest !== null && this.#latest !== this.#sent;
    }

    #schedule(): void {
        if (this.#cancelled || this.#timer !== null || this.#inFlight !== null || !this.#pending()) return;
        const wait = Math.max(0, this.#lastSentAt + this.minIntervalMs - Date.now());
        this.#timer = setTimeout(() => {
            this.#timer = null;
            if (this.#pending()) this.#sendLatest();
        }, wait);
    }

    #sendLatest(): void {
        const text = this.#latest as string;
        this.#lastSentAt = Date.now();
        this.#inFlight = this.limiter
            .schedule(() => {
                // The global budget may have held it: the per-message interval counts from the send.
                this.#lastSentAt = Date.now();
                return this.send(text);
            })
            .then(
                () => {
                    this.#sent = text;
                    this.#lastError = null;
                },
                (error: unknown) => {
                    // The text stays pending: the next edit (or flush) carries it.
                    this.#lastError = error;
                    this.onError(error);
                },
            )
            .finally(() => {
                this.#inFlight = null;
                if (this.#lastError === null) this.#schedule();
            });
    }
}

function sleep(ms: number): Promise<void> {
    return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}
