import {readFileSync} from "node:fs";
import {worldVocabPath} from "../../src/inference/worldVocab.ts";

/** The first `lines` lines of the shipped World vocabulary: a copy cut at a line boundary, which still parses. */
export function cutWorldVocab(lines: number): Buffer {
    const world = readFileSync(worldVocabPath);
    let end = 0;
    for (let line = 0; line < lines; line += 1) end = world.indexOf(0x0a, end) + 1;
    return world.subarray(0, end);
}
