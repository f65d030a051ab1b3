import {existsSync} from "node:fs";
import {createRequire} from "node:module";
import {fileURLToPath} from "node:url";
import {EngineError} from "../errors/BotError.ts";
import type {AddonBinding} from "./AddonTypes.ts";

/** Where `npm run build` (cmake-js, Release, CPU backend) puts the addon. */
const cpuAddonPath = fileURLToPath(new URL("../../build/native/Release/rwkv5_addon.node", import.meta.url));
/** Where `npm run build:cuda` puts the addon with the CUDA backend. */
const cudaAddonPath = fileURLToPath(new URL("../../build/native-cuda/Release/rwkv5_addon.node", import.meta.url));

let addon: AddonBinding | undefined;

/**
 * The native engine binding, loaded once per process: the CUDA build when it exists, loads
 * (its CUDA libraries are present) and sees a usable device; else the CPU build.
 *
 * @throws EngineError `engine/no_binary` when the CPU addon is not built (or cannot be
 * loaded), telling the user to run `npm run build`.
 */
export function getAddon(): AddonBinding {
    addon ??= loadCudaAddon() ?? loadCpuAddon();
    return addon;
}

function loadCudaAddon(): AddonBinding | undefined {
    if (!existsSync(cudaAddonPath)) return undefined;
    try {
        const candidate = createRequire(import.meta.url)(cudaAddonPath) as AddonBinding;
        // No device here: the CPU build is the normal choice (ModelInfo.backend says which ran).
        if (candidate.supportsCuda()) return candidate;
    } catch (error) {
        console.warn(`rwkv-bot: ${cudaAddonPath} cannot be loaded (${String((error as Error).message).split("\n")[0]}); using the CPU engine`);
    }
    return undefined;
}

function loadCpuAddon(): AddonBinding {
    try {
        return createRequire(import.meta.url)(cpuAddonPath) as AddonBinding;
    } catch (error) {
        const notBuilt = (error as {code?: unknown}).code === "MODULE_NOT_FOUND";
        const reason = notBuilt ? `there is no ${cpuAddonPath}` : `${cpuAddonPath}: ${String((error as Error).message).split("\n")[0]}`;
        throw new EngineError(
            "engine/no_binary",
            `The native engine is not ${notBuilt ? "built" : "loadable"} (${reason}): run \`npm run build\``,
            {cause: error},
        );
    }
}
