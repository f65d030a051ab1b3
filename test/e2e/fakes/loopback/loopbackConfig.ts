import {EnvReader} from "../../../../src/core/EnvReader.ts";
import type {Env} from "../../../../src/core/EnvReader.ts";

/** The loopback platform's settings. */
export interface LoopbackConfig {
    /** `LOOPBACK_CONVERSATION`: the conversation name; setting it turns the platform on. */
    readonly conversation: string;
}

/** Reads `LOOPBACK_*`; null when `LOOPBACK_CONVERSATION` is unset. */
export function parseLoopbackConfig(env: Env): {config: LoopbackConfig | null, problems: string[]} {
    const read = new EnvReader(env);
    const conversation = read.string("LOOPBACK_CONVERSATION");
    if (conversation !== undefined && !/^[\w-]+$/.test(conversation)) read.problems.push(`LOOPBACK_CONVERSATION must be letters, digits, _ or -, got "${conversation}"`);
    return {config: conversation === undefined || read.problems.length > 0 ? null : {conversation}, problems: read.problems};
}
