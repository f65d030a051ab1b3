import {describe, expect, it} from "vitest";
import {parseSettings} from "../../../src/commands/parseSettings.ts";
import {chatSamplingDefaults} from "../../../src/inference/SamplingOptions.ts";

describe("parseSettings", () => {
    it("parses a format and sampling overrides over the current ones", () => {
        expect(parseSettings("format=seed temperature=0.7 top_k=40", {topP: 0.5}, chatSamplingDefaults)).toEqual({
            ok: true, change: {chatFormat: "seed", sampling: {topP: 0.5, temperature: 0.7, topK: 40}},
        });
    });

    it("removes an override with default, and leaves sampling alone when only the format changes", () => {
        expect(parseSettings("top_p=default", {topP: 0.5, seed: 3}, chatSamplingDefaults)).toEqual({ok: true, change: {sampling: {seed: 3}}});
        expect(parseSettings("format=chat", {topP: 0.5}, chatSamplingDefaults)).toEqual({ok: true, change: {chatFormat: "chat"}});
    });

    it("lists every problem and changes nothing", () => {
        const parsed = parseSettings("format=xml temperature=hot top_p=3 colour=red", {}, chatSamplingDefaults);
        expect(parsed.ok).toBe(false);
        expect(parsed.ok ? [] : parsed.problems).toEqual([
            "unknown format \"xml\"",
            "temperature must be a number or \"default\"",
            expect.stringContaining("unknown setting \"colour\""),
            "top_p must be in [0, 1]",
        ]);
    });
});
