/**
 * One owner's claims on conversations, each held for as long as the owner
 * lives: a dead owner's claims are free at once, a live owner's never are
 * (docs/architecture.md § Persistence, leases). Conversations are named by row id.
 */
export interface LeaseClaims {
    /** Claims conversation `id`; false when another live owner holds it. */
    claim(id: number): Promise<boolean>;
    /** Whether the claim on `id` still stands (false once the owner's proof of life was lost). */
    holds(id: number): boolean;
    /** Gives the claim on `id` up. */
    release(id: number): Promise<void>;
    /** Gives every claim up, as the owner's death would. */
    close(): Promise<void>;
}
