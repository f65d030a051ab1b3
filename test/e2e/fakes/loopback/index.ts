import type {Adapter} from "../../../../src/core/Adapter.ts";
import type {AdapterContext} from "../../../../adapters/shared/AdapterModule.ts";
import {LoopbackAdapter} from "./LoopbackAdapter.ts";
import type {LoopbackConfig} from "./loopbackConfig.ts";

/** The test platform's entry, registered by the e2e tests the way `adapters/registry.ts` registers the real ones. */
export const platform = "loopback";

export {parseLoopbackConfig as parseConfig} from "./loopbackConfig.ts";

export function createAdapter(config: LoopbackConfig, _context: AdapterContext): Adapter {
    return new LoopbackAdapter(config);
}
