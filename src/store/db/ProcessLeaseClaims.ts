import type {LeaseClaims} from "./LeaseClaims.ts";

/**
 * {@link LeaseClaims} of the embedded database: only this process can open its
 * directory (the data-dir lock), so any owner it did not register is dead and
 * a restart owns every conversation at once. Owners in this process share
 * `claims` (conversation id → owner).
 */
export class ProcessLeaseClaims implements LeaseClaims {
    constructor(private readonly claims: Map<number, LeaseClaims>) {}

    async claim(id: number): Promise<boolean> {
        const holder = this.claims.get(id);
        if (holder !== undefined && holder !== this) return false;
        this.claims.set(id, this);
        return true;
    }

    holds(id: number): boolean {
        return this.claims.get(id) === this;
    }

    async release(id: number): Promise<void> {
        if (this.holds(id)) this.claims.delete(id);
    }

    async close(): Promise<void> {
        for (const [id, holder] of this.claims) if (holder === this) this.claims.delete(id);
    }
}
