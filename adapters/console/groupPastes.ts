import type {Interface} from "node:readline";

/**
 * The lines of `lines` with those that arrive within `windowMs` of each other joined by "\n":
 * a paste of several lines reaches the terminal in one burst (nobody types two Enters in a few
 * milliseconds), so it becomes one turn instead of one turn per line. Ends when `lines` closes.
 */
export function groupPastes(lines: Interface, windowMs: number): AsyncIterable<string> {
    const ready: string[] = [];
    let burst: string[] = [];
    let timer: NodeJS.Timeout | undefined;
    let closed = false;
    let wake: (() => void) | null = null;
    const flush = (): void => {
        timer = undefined;
        if (burst.length > 0) ready.push(burst.join("\n"));
        burst = [];
        wake?.();
    };
    lines.on("line", (line: string) => {
        burst.push(line);
        clearTimeout(timer);
        timer = setTimeout(flush, windowMs);
    });
    lines.on("close", () => {
        clearTimeout(timer);
        closed = true;
        flush();
    });
    return {
        async *[Symbol.asyncIterator]() {
            for (;;) {
                const next = ready.shift();
                if (next !== undefined) {
                    yield next;
                } else if (closed) {
                    return;
                } else {
                    await new Promise<void>((resolve) => (wake = resolve));
                    wake = null;
                }
            }
        },
    };
}
