/**
 * Splits `text` into parts of at most `limit` UTF-16 units (how Discord and Slack count their
 * message limits) whose concatenation is exactly the text. A part ends after the last line
 * break of its window when that lies in the window's second half, else after the last space
 * or tab, else after the last line break, else hard — never between the two halves of a
 * surrogate pair. Empty text gives no parts. Each part depends only on the text up to its
 * end, so while a streamed reply grows only its last part changes.
 */
export function splitMessage(text: string, limit: number): string[] {
    if (limit < 2) throw new RangeError(`splitMessage: limit must be at least 2, got ${limit}`);
    const parts: string[] = [];
    let rest = text;
    while (rest.length > limit) {
        const end = breakPoint(rest, limit);
        parts.push(rest.slice(0, end));
        rest = rest.slice(end);
    }
    if (rest.length > 0) parts.push(rest);
    return parts;
}

function breakPoint(text: string, limit: number): number {
    const window = text.slice(0, limit);
    const newline = window.lastIndexOf("\n");
    if (newline >= limit / 2) return newline + 1;
    const space = Math.max(window.lastIndexOf(" "), window.lastIndexOf("\t"));
    if (space > 0) return space + 1;
    if (newline > 0) return newline + 1;
    const code = text.charCodeAt(limit - 1);
    return code >= 0xd800 && code <= 0xdbff ? limit - 1 : limit;
}
