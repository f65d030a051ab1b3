import {getAddon} from "../bindings/getAddon.ts";

/** What this build of the engine can do on this host. */
export interface EngineCapabilities {
    /** The SIMD level the CPU kernels dispatch to: `"avx512vnni"`, `"avx512"`, `"avx2vnni"`, `"avx2"` or `"scalar"`. */
    cpuKernel: string;
    /** Whether the build has the CUDA backend. */
    supportsCuda: boolean;
    /** One line such as `"cpu: avx512f=1 avx2=1 fma=1 f16c=1 threads=2; cuda: 0 devices"`. */
    systemInfo: string;
}

/** @throws EngineError `engine/no_binary` when the addon is not built. */
export function engineCapabilities(): EngineCapabilities {
    const addon = getAddon();
    return {cpuKernel: addon.cpuKernel(), supportsCuda: addon.supportsCuda(), systemInfo: addon.systemInfo()};
}
