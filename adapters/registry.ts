import type {RegisteredAdapter} from "./shared/AdapterModule.ts";
import {registerAdapter} from "./shared/registerAdapter.ts";

/**
 * Every chat platform the bot can run on. A platform is one folder with an `index.ts` (see
 * docs/adding-an-adapter.md) and one line here; config loading and start-up loop over this list.
 */
export const adapterRegistry: readonly RegisteredAdapter[] = [
    registerAdapter(await import("./discord/index.ts")),
    registerAdapter(await import("./slack/index.ts")),
];
