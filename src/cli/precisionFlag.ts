import {describePrecision, parsePrecision, precisionRequests, precisionWords} from "../inference/Precision.ts";
import type {Precision, PrecisionRequest} from "../core/Precision.ts";
import type {ParsedArgs} from "./CliCommand.ts";
import {UsageError} from "./UsageError.ts";

/** The older boolean spelling a command accepted before `--precision` (`logits --fast`, `info --fp32`). */
export interface LegacyPrecisionFlag {
    readonly flag: string;
    readonly precision: Precision;
}

/** The usage lines of `--precision` (and of a command's older spelling), `fallback` being the default. */
export function precisionUsage(fallback: PrecisionRequest, legacy?: LegacyPrecisionFlag): string {
    const lines = [
        `  --precision P  how the weights are held (default ${fallback}):`,
        ...precisionRequests.map((precision) => `                   ${precision.padEnd(6)} ${describePrecision(precision)}`),
        `                 (fast is accepted for 16bit)`,
    ];
    if (legacy) lines.push(`  --${legacy.flag.padEnd(12)} the same as --precision ${legacy.precision}`);
    return lines.join("\n");
}

/** The precision asked for by `--precision` or the command's older flag; `fallback` when neither is given. */
export function precisionFlag(args: ParsedArgs, fallback: PrecisionRequest, legacy?: LegacyPrecisionFlag): PrecisionRequest {
    const word = args.string("precision");
    const legacyGiven = legacy !== undefined && args.flag(legacy.flag);
    if (word === undefined) return legacyGiven ? legacy.precision : fallback;
    const precision = parsePrecision(word);
    if (precision === undefined) throw new UsageError(`--precision must be one of ${precisionWords.join(", ")}, not "${word}"`);
    if (legacyGiven && legacy.precision !== precision) {
        throw new UsageError(`--${legacy.flag} means --precision ${legacy.precision}, which contradicts --precision ${word}`);
    }
    return precision;
}
