import type {WriteStream} from "node:tty";

/**
 * A one-line progress bar (`label [#####.....]  45%`) redrawn in place on a terminal. Not a
 * terminal (a pipe, a log file): it writes nothing, so scripted output stays clean.
 */
export class ProgressBar {
    readonly #out: NodeJS.WritableStream & Partial<Pick<WriteStream, "isTTY" | "columns">>;
    readonly #label: string;
    #shown = -1;
    #ended = false;

    constructor(out: NodeJS.WritableStream & Partial<Pick<WriteStream, "isTTY" | "columns">>, label: string) {
        this.#out = out;
        this.#label = label;
    }

    /**
     * Shows `fraction` (0..1); redraws only when the percentage changes. At 100 % the line is
     * ended, so whatever is printed next (the first log line) starts on a line of its own.
     */
    update(fraction: number): void {
        if (this.#out.isTTY !== true || this.#ended) return;
        const percent = Math.floor(Math.min(1, Math.max(0, fraction)) * 100);
        if (percent === this.#shown) return;
        this.#shown = percent;
        const width = Math.max(10, Math.min(40, (this.#out.columns ?? 80) - this.#label.length - 10));
        const filled = Math.round((percent / 100) * width);
        this.#out.write(`\r${this.#label} [${"#".repeat(filled)}${".".repeat(width - filled)}] ${String(percent).padStart(3)}%`);
        if (percent === 100) this.done();
    }

    /** Ends the bar's line (on a terminal, once), e.g. before an error is printed. */
    done(): void {
        if (this.#out.isTTY === true && this.#shown >= 0 && !this.#ended) this.#out.write("\n");
        this.#ended = true;
    }
}
