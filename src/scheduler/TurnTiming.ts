import type {ReplySink} from "../core/ReplySink.ts";

/**
 * Times one chat turn from its arrival at the scheduler: to the first text of its reply, and to
 * the reply delivered. `sink` is the turn's own sink, watched on the way through.
 */
export class TurnTiming {
    readonly sink: ReplySink;
    readonly #started: number;
    readonly #now: () => number;
    #firstTextMs: number | null = null;
    #replyMs: number | null = null;

    constructor(sink: ReplySink, now: () => number = () => performance.now()) {
        this.#now = now;
        this.#started = now();
        this.sink = {
            typing: () => sink.typing(),
            update: (textSoFar) => {
                if (textSoFar !== "") this.#firstTextMs ??= this.elapsedMs();
                return sink.update(textSoFar);
            },
            complete: async (text, file) => {
                await sink.complete(text, file);
                this.#replyMs = this.elapsedMs();
            },
            fail: (error) => sink.fail(error),
        };
    }

    /** Milliseconds to the first text streamed; null when none was. */
    get firstTextMs(): number | null {
        return this.#firstTextMs;
    }

    /** Milliseconds to the reply delivered; null unless it completed. */
    get replyMs(): number | null {
        return this.#replyMs;
    }

    elapsedMs(): number {
        return this.#now() - this.#started;
    }
}
