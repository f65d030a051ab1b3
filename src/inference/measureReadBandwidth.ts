import {asEngineError} from "../bindings/asEngineError.ts";
import {getAddon} from "../bindings/getAddon.ts";

/**
 * The host's memory read bandwidth in bytes/s, read the way the CPU kernels
 * read weights: the roof that decode speed is measured against (bench only).
 *
 * @param bytes size of the buffer streamed (use well above the caches, e.g. 1 GiB).
 * @param threads reading threads; 0 = all cores.
 * @param reps passes over the buffer; the best is returned.
 */
export async function measureReadBandwidth(bytes: number, threads: number, reps = 5): Promise<number> {
    try {
        return await getAddon().measureReadBandwidth(bytes, threads, reps);
    } catch (error) {
        throw asEngineError(error);
    }
}
