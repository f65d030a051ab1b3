import type {Precision} from "../core/Precision.ts";

export const precisions: readonly Precision[] = ["fp32", "16bit", "int8"];

/** `fast`: the 16-bit path's name before int8 existed (documented for `ENGINE_PRECISION` and `generate --precision`), still accepted. */
const aliases: Readonly<Record<string, Precision>> = {fast: "16bit"};

/** Every word that names a precision: the precisions, then their accepted aliases. */
export const precisionWords: readonly string[] = [...precisions, ...Object.keys(aliases)];

/** The precision a word names (a precision or an alias), or undefined. */
export function parsePrecision(word: string): Precision | undefined {
    return (precisions as readonly string[]).includes(word) ? (word as Precision) : aliases[word];
}

/** One line on what a precision costs and gives, for help texts and `info`. */
export function describePrecision(precision: Precision): string {
    switch (precision) {
        case "fp32":
            return "fp32 weights: the reference numbers, twice the memory of 16bit";
        case "16bit":
            return "16-bit weights (the file's bf16/fp16), fp32 accumulation";
        case "int8":
            return "int8 weights quantized at load (fp32 scale per 64 columns), fp32 accumulation, half the memory of 16bit";
        default: {
            const unknown: never = precision;
            throw new Error(`unknown precision ${String(unknown)}`);
        }
    }
}
