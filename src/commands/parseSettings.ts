import {mergeSamplingOptions, samplingOptionProblems} from "../inference/SamplingOptions.ts";
import type {SamplingOptions} from "../inference/SamplingOptions.ts";
import {isChatFormatName} from "../session/chatFormats.ts";

/** Names `settings` accepts, mapped to sampling option keys. */
const samplingKeys: Readonly<Record<string, keyof SamplingOptions>> = {
    temperature: "temperature", top_p: "topP", top_k: "topK", presence: "presencePenalty",
    frequency: "frequencyPenalty", decay: "penaltyDecay", seed: "seed",
};

/** The setting name of each sampling option, for the problems. */
const settingNames = Object.fromEntries(Object.entries(samplingKeys).map(([name, key]) => [key, name])) as Partial<Record<keyof SamplingOptions, string>>;

/** A settings change parsed from `format=seed temperature=0.7 …`. */
export interface SettingsChange {
    readonly chatFormat?: string;
    /** The conversation's sampling overrides after the change. */
    readonly sampling?: Record<string, unknown>;
}

/**
 * Parses `key=value` pairs over the current sampling overrides (`default` removes one). Returns
 * the change, or every problem found.
 */
export function parseSettings(args: string, current: Record<string, unknown>, base: SamplingOptions): {ok: true, change: SettingsChange} | {ok: false, problems: string[]} {
    const problems: string[] = [];
    let chatFormat: string | undefined;
    const sampling: Record<string, unknown> = {...current};
    let samplingChanged = false;
    for (const pair of args.split(/\s+/).filter((word) => word !== "")) {
        const [name = "", value = ""] = pair.split("=", 2);
        if (name === "format") {
            if (isChatFormatName(value)) chatFormat = value;
            else problems.push(`unknown format "${value}"`);
            continue;
        }
        const key = samplingKeys[name];
        if (key === undefined) {
            problems.push(`unknown setting "${name}" (known: format, ${Object.keys(samplingKeys).join(", ")})`);
            continue;
        }
        samplingChanged = true;
        if (value === "default") {
            delete sampling[key];
            continue;
        }
        const number = Number(value);
        if (value === "" || !Number.isFinite(number)) problems.push(`${name} must be a number or "default"`);
        else sampling[key] = number;
    }
    const merged = mergeSamplingOptions(base, sampling as Partial<SamplingOptions>);
    if (!merged.ok) problems.push(...samplingOptionProblems({...base, ...sampling}, settingNames));
    if (problems.length > 0) return {ok: false, problems};
    return {ok: true, change: {...(chatFormat === undefined ? {} : {chatFormat}), ...(samplingChanged ? {sampling} : {})}};
}
