import type {ModelInfo} from "../core/ModelInfo.ts";
import type {Precision, PrecisionRequest} from "../core/Precision.ts";

export const precisions: readonly Precision[] = ["fp32", "16bit", "int8"];

/** What a load may ask for: a precision, or `auto` (see {@link PrecisionRequest}). */
export const precisionRequests: readonly PrecisionRequest[] = [...precisions, "auto"];

/** `fast`: the 16-bit path's name before int8 existed (documented for `ENGINE_PRECISION` and `generate --precision`), still accepted. */
const aliases: Readonly<Record<string, Precision>> = {fast: "16bit"};

/** Every word a load accepts: the requests, then the accepted aliases. */
export const precisionWords: readonly string[] = [...precisionRequests, ...Object.keys(aliases)];

/** The request a word names (a precision, `auto` or an alias), or undefined. */
export function parsePrecision(word: string): PrecisionRequest | undefined {
    return (precisionRequests as readonly string[]).includes(word) ? (word as PrecisionRequest) : aliases[word];
}

/** One line on what a precision (or `auto`) costs and gives, for help texts and `info`. */
export function describePrecision(precision: PrecisionRequest): string {
    switch (precision) {
        case "fp32":
            return "fp32 weights: the reference numbers, twice the memory of 16bit";
        case "16bit":
            return "16-bit weights (the file's bf16/fp16), fp32 accumulation";
        case "int8":
            return "int8 weights quantized at load (fp32 scale per 64 columns), fp32 accumulation, half the memory of 16bit";
        case "auto":
            return "16bit when its weights fit the free memory (of the GPU they load to, else the host), else int8";
        default: {
            const unknown: never = precision;
            throw new Error(`unknown precision ${String(unknown)}`);
        }
    }
}

/** "int8 weights (12.6 GB; auto: 16bit did not fit the 21.4 GB budget)": what a load took and, for `auto`, why. */
export function describeLoadedPrecision(asked: PrecisionRequest, info: Pick<ModelInfo, "precision" | "weightBytes" | "memoryBudget">): string {
    const gb = (bytes: number): string => (bytes >= 1e9 ? `${(bytes / 1e9).toFixed(1)} GB` : `${(bytes / 1e6).toFixed(1)} MB`);
    const loaded = `${info.precision} weights (${gb(info.weightBytes)}`;
    if (asked !== "auto") return `${loaded})`;
    const budget = info.memoryBudget > 0 ? `the ${gb(info.memoryBudget)} budget` : "the free memory";
    return info.precision === "16bit" ? `${loaded}; auto: they fit ${budget})` : `${loaded}; auto: 16bit did not fit ${budget})`;
}
