/**
 * What a state belongs to: the model's identity and the dimensions that fix
 * its layout (docs/rwkv5.md §7). The store takes this instead of the engine's
 * `ModelInfo`, of which it is a subset.
 */
export interface StateDescriptor {
    /** Hex sha-256 identity of the weights. */
    readonly modelId: string;
    readonly nLayer: number;
    readonly nEmbd: number;
    readonly nHead: number;
    readonly headSize: number;
}

/** Numbers in one state: per layer `att_x[C]`, `S[H][N][N]`, `ffn_x[C]`. */
export function stateElementCount(descriptor: StateDescriptor): number {
    return descriptor.nLayer * (2 * descriptor.nEmbd + descriptor.nHead * descriptor.headSize * descriptor.headSize);
}
