import type {Adapter} from "../../src/core/Adapter.ts";
import type {AdapterContext} from "../shared/AdapterModule.ts";
import {SlackAdapter} from "./SlackAdapter.ts";
import type {SlackConfig} from "./slackConfig.ts";

/** Slack's entry in `adapters/registry.ts`. */
export const platform = "slack";

export {parseSlackConfig as parseConfig} from "./slackConfig.ts";

/** A {@link SlackAdapter} on the process's shared edit budget and log. */
export function createAdapter(config: SlackConfig, context: AdapterContext): Adapter {
    return new SlackAdapter({config, throttle: context.editThrottle, logger: context.log, metrics: context.metrics});
}
