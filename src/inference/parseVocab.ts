/**
 * The outcome of {@link parseVocab}: the token bytes by id, or the first problem found.
 * `tokens[0]` is always `null` (id 0 is `<|endoftext|>`, which has no bytes).
 */
export type VocabParseResult =
    | {readonly ok: true; readonly tokens: readonly (Uint8Array | null)[]}
    | {readonly ok: false; readonly line: number; readonly reason: string};

type LiteralResult = {readonly bytes: Uint8Array} | {readonly reason: string};

const utf8 = new TextDecoder("utf-8", {fatal: true, ignoreBOM: true});

/**
 * Parses a World vocabulary file (`rwkv_vocab_v20230424.txt` format, docs/rwkv5.md §8.1):
 * line `k` is `<k> <python str or bytes literal> <byte length>`, ids contiguous from 1.
 * Checks every line (UTF-8, literal syntax, declared length, id order), that no two ids
 * share the same bytes, and that every single byte has a token (so encoding cannot fail).
 * Smaller vocabularies than the real one are accepted. Pure: problems are returned, not thrown.
 */
export function parseVocab(file: Uint8Array): VocabParseResult {
    const tokens: (Uint8Array | null)[] = [null];
    const seen = new Map<string, number>();
    let start = 0;
    let line = 0;
    while (start < file.length) {
        line += 1;
        let end = file.indexOf(0x0a, start);
        if (end < 0) end = file.length;
        const parsed = parseLine(file.subarray(start, end), line);
        if ("reason" in parsed) return {ok: false, line, reason: parsed.reason};
        const key = Buffer.from(parsed.bytes.buffer, parsed.bytes.byteOffset, parsed.bytes.length).toString("latin1");
        const previous = seen.get(key);
        if (previous !== undefined) return {ok: false, line, reason: `same bytes as id ${previous}`};
        seen.set(key, line);
        tokens.push(parsed.bytes);
        start = end + 1;
    }
    if (line === 0) return {ok: false, line: 1, reason: "the file holds no tokens"};
    for (let byte = 0; byte < 256; byte += 1) {
        if (!seen.has(String.fromCharCode(byte))) {
            return {ok: false, line: line + 1, reason: `byte 0x${byte.toString(16).padStart(2, "0")} has no token`};
        }
    }
    return {ok: true, tokens};
}

function parseLine(raw: Uint8Array, line: number): LiteralResult {
    let text: string;
    try {
        text = utf8.decode(raw);
    } catch {
        return {reason: "not valid UTF-8"};
    }
    if (text.includes("\r")) return {reason: "carriage return in line (CRLF line endings?)"};
    const first = text.indexOf(" ");
    const last = text.lastIndexOf(" ");
    if (first < 0 || first === last) return {reason: "expected `<id> <literal> <byte length>`"};
    const idText = text.slice(0, first);
    if (!/^[0-9]+$/.test(idText)) return {reason: `id "${idText}" is not a number`};
    if (Number(idText) !== line) return {reason: `id ${idText} where ${line} was expected (ids must be contiguous from 1)`};
    const lengthText = text.slice(last + 1);
    if (!/^[0-9]+$/.test(lengthText)) return {reason: `byte length "${lengthText}" is not a number`};
    const literal = parsePythonLiteral(text.slice(first + 1, last));
    if ("reason" in literal) return literal;
    if (literal.bytes.length === 0) return {reason: "empty token"};
    if (literal.bytes.length !== Number(lengthText)) {
        return {reason: `byte length ${lengthText} declared, the literal has ${literal.bytes.length}`};
    }
    return literal;
}

const simpleEscapes: Readonly<Record<string, number>> = {
    "\\": 0x5c, "'": 0x27, "\"": 0x22, "a": 0x07, "b": 0x08, "f": 0x0c, "n": 0x0a, "r": 0x0d, "t": 0x09, "v": 0x0b,
};

/**
 * Python `'…'`, `"…"`, `b'…'` or `b"…"`. The pitfall: in a str literal `\xNN` is the code
 * point U+00NN (two UTF-8 bytes when ≥ 0x80); in a bytes literal it is one raw byte.
 */
function parsePythonLiteral(literal: string): LiteralResult {
    const isBytes = literal.startsWith("b");
    const body = isBytes ? literal.slice(1) : literal;
    const quote = body[0];
    if ((quote !== "'" && quote !== "\"") || body.length < 2 || body[body.length - 1] !== quote) {
        return {reason: `not a Python str or bytes literal: ${literal}`};
    }
    // Code points for a str literal, byte values for a bytes literal.
    const units: number[] = [];
    const inner = body.slice(1, -1);
    let i = 0;
    while (i < inner.length) {
        const codePoint = inner.codePointAt(i) as number;
        const char = String.fromCodePoint(codePoint);
        i += char.length;
        if (char === quote) return {reason: `unescaped ${quote} inside the literal`};
        if (char !== "\\") {
            if (isBytes && codePoint > 0x7f) return {reason: "non-ASCII character in a bytes literal"};
            units.push(codePoint);
            continue;
        }
        const escape = inner[i];
        if (escape === undefined) return {reason: "the literal ends with a backslash"};
        i += 1;
        const simple = simpleEscapes[escape];
        if (simple !== undefined) {
            units.push(simple);
        } else if (escape >= "0" && escape <= "7") {
            const digits = /^[0-7]{0,2}/.exec(inner.slice(i))?.[0] ?? "";
            i += digits.length;
            const value = parseInt(escape + digits, 8);
            if (isBytes && value > 0xff) return {reason: `octal escape \\${escape}${digits} out of range in a bytes literal`};
            units.push(value);
        } else if (escape === "x" || (!isBytes && (escape === "u" || escape === "U"))) {
            const width = escape === "x" ? 2 : escape === "u" ? 4 : 8;
            const hex = inner.slice(i, i + width);
            if (!new RegExp(`^[0-9a-fA-F]{${width}}$`).test(hex)) return {reason: `truncated \\${escape} escape`};
            i += width;
            units.push(parseInt(hex, 16));
        } else if (escape === "N" && !isBytes) {
            return {reason: "\\N{…} escapes are not supported"};
        } else {
            // Python keeps an unknown escape as the backslash and the character.
            units.push(0x5c);
            i -= 1;
        }
    }
    return isBytes ? {bytes: Uint8Array.from(units)} : encodeCodePoints(units);
}

function encodeCodePoints(codePoints: readonly number[]): LiteralResult {
    const bytes: number[] = [];
    for (const c of codePoints) {
        if (c >= 0xd800 && c <= 0xdfff) return {reason: `lone surrogate U+${c.toString(16).toUpperCase()} cannot be encoded as UTF-8`};
        if (c > 0x10ffff) return {reason: `code point 0x${c.toString(16)} is beyond U+10FFFF`};
        if (c < 0x80) bytes.push(c);
        else if (c < 0x800) bytes.push(0xc0 | (c >> 6), 0x80 | (c & 0x3f));
        else if (c < 0x10000) bytes.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
        else bytes.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 0x3f), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
    }
    return {bytes: Uint8Array.from(bytes)};
}
