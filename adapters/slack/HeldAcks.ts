/** Slack's acknowledgement of one event or command (Socket Mode: an envelope ack over the socket). */
export type Ack = (response?: unknown) => Promise<void>;

/**
 * Socket Mode acknowledgements held back until the adapter has made the turn safe (journaled),
 * so that an event Slack was told we have is not lost if this process dies the moment after.
 * Bolt acknowledges an event before its listener runs; the held ack it is given returns at once
 * and the real one goes out when the listener releases it — or when `budgetMs` has passed, since
 * Slack redelivers an event it has not seen acknowledged within 3 seconds.
 */
export class HeldAcks {
    readonly #held = new WeakMap<object, () => void>();

    constructor(readonly budgetMs: number) {}

    /** The ack Bolt gets for the envelope whose payload is `body`; `ack` is sent once released. */
    hold(body: object, ack: Ack, log: (error: unknown) => void): Ack {
        let release!: () => void;
        const released = new Promise<void>((resolve) => (release = resolve));
        const timer = setTimeout(release, this.budgetMs);
        timer.unref();
        this.#held.set(body, () => {
            clearTimeout(timer);
            release();
        });
        return async (response) => {
            void released.then(() => ack(response)).catch(log);
        };
    }

    /** Sends the held ack of `body` (nothing when none is held: HTTP mode, or sent already). */
    release(body: object): void {
        this.#held.get(body)?.();
        this.#held.delete(body);
    }
}
