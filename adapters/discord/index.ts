import type {Adapter} from "../../src/core/Adapter.ts";
import type {AdapterContext} from "../shared/AdapterModule.ts";
import {DiscordAdapter} from "./DiscordAdapter.ts";
import type {DiscordConfig} from "./discordConfig.ts";

/** Discord's entry in `adapters/registry.ts`. */
export const platform = "discord";

export {parseDiscordConfig as parseConfig} from "./discordConfig.ts";

/** A {@link DiscordAdapter} on the process's shared edit budget and log. */
export function createAdapter(config: DiscordConfig, context: AdapterContext): Adapter {
    return new DiscordAdapter({config, editThrottle: context.editThrottle, logger: context.log, metrics: context.metrics});
}
