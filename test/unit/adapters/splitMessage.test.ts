import {describe, expect, it} from "vitest";

import {splitMessage} from "../../../adapters/shared/splitMessage.ts";

describe("splitMessage", () => {
    it("keeps text within the limit whole, and gives no parts for empty text", () => {
        expect(splitMessage("hello", 2000)).toEqual(["hello"]);
        expect(splitMessage("x".repeat(2000), 2000)).toEqual(["x".repeat(2000)]);
        expect(splitMessage("", 2000)).toEqual([]);
    });

    it("cuts after the last line break in the window's second half", () => {
        expect(splitMessage("aaaaaaaa\n\nbbbbbbbbbb", 12)).toEqual(["aaaaaaaa\n\n", "bbbbbbbbbb"]);
        expect(splitMessage("aaaaaaaaa\nbb cc", 12)).toEqual(["aaaaaaaaa\n", "bb cc"]);
    });

    it("prefers a late space to an early line break, and any space to a hard cut", () => {
        expect(splitMessage("ab\ncdefgh ijklmnop", 12)).toEqual(["ab\ncdefgh ", "ijklmnop"]);
        expect(splitMessage("a bcccccccccccccc", 10)).toEqual(["a ", "bccccccccc", "ccccc"]);
    });

    it("cuts hard without a break, never inside a surrogate pair", () => {
        expect(splitMessage("abcdefghij", 4)).toEqual(["abcd", "efgh", "ij"]);
        const parts = splitMessage(`abc${"😀".repeat(3)}`, 4);
        expect(parts).toEqual(["abc", "😀😀", "😀"]);
        expect(splitMessage(`${"x".repeat(9)}😀y`, 10)).toEqual(["x".repeat(9), "😀y"]);
    });

    it("splits a long reply into parts within the limit that rejoin to the exact text", () => {
        const text = Array.from({length: 300}, (_, i) => `line ${i}: ${"word ".repeat(i % 17)}`.trimEnd()).join("\n");
        const parts = splitMessage(text, 2000);
        expect(parts.length).toBeGreaterThan(1);
        expect(parts.every((part) => part.length <= 2000)).toBe(true);
        expect(parts.slice(0, -1).every((part) => part.length >= 1000)).toBe(true);
        expect(parts.join("")).toBe(text);
    });

    it("keeps the earlier parts of a growing text unchanged", () => {
        const full = Array.from({length: 900}, (_, i) => `w${i}${i % 7 === 0 ? "\n" : " "}`).join("");
        const final = splitMessage(full, 2000);
        for (let end = 2500; end < full.length; end += 97) {
            const partial = splitMessage(full.slice(0, end), 2000);
            expect(partial.slice(0, -1)).toEqual(final.slice(0, partial.length - 1));
        }
    });
});
