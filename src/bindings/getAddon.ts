import {createRequire} from "node:module";
import {fileURLToPath} from "node:url";
import {EngineError} from "../errors/BotError.ts";
import type {AddonBinding} from "./AddonTypes.ts";

/** Where `npm run build` (cmake-js, Release) puts the addon. */
const addonPath = fileURLToPath(new URL("../../build/native/Release/rwkv5_addon.node", import.meta.url));

let addon: AddonBinding | undefined;

/**
 * The native engine binding, loaded once per process.
 *
 * @throws EngineError `engine/no_binary` when the addon is not built (or cannot
 * be loaded), telling the user to run `npm run build`.
 */
export function getAddon(): AddonBinding {
    if (addon === undefined) {
        try {
            addon = createRequire(import.meta.url)(addonPath) as AddonBinding;
        } catch (error) {
            const notBuilt = (error as {code?: unknown}).code === "MODULE_NOT_FOUND";
            const reason = notBuilt ? `there is no ${addonPath}` : `${addonPath}: ${String((error as Error).message).split("\n")[0]}`;
            throw new EngineError(
                "engine/no_binary",
                `The native engine is not ${notBuilt ? "built" : "loadable"} (${reason}): run \`npm run build\``,
                {cause: error},
            );
        }
    }
    return addon;
}
