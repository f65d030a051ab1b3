import pg from "pg";
import {StoreError} from "../../errors/BotError.ts";
import type {LeaseClaims} from "./LeaseClaims.ts";

// First key of every lease lock ("RWKV"): the two-key space keeps them apart from
// other advisory locks, such as the migration engine's one-key lock.
const LEASE_LOCK_SPACE = 0x52574b56;

// The server drops a session whose client vanished without closing its socket (a
// machine that died) after about idle + interval × count seconds, not hours.
const KEEPALIVES = "SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 3";

/**
 * {@link LeaseClaims} on a Postgres server: session-level advisory locks held on
 * a connection of the owner's own. The server releases them when that session
 * ends, so a killed owner's claims are free as soon as its socket closes.
 * When the connection drops every claim is lost; the next claim reconnects.
 */
export class AdvisoryLeaseClaims implements LeaseClaims {
    #session: Promise<pg.Client> | null = null;
    readonly #held = new Set<number>();
    #closed = false;
    #generation = 0;

    constructor(private readonly url: string, private readonly owner: string) {}

    async claim(id: number): Promise<boolean> {
        const client = await this.#connect();
        // Session locks stack: taking one twice would need two unlocks.
        if (this.#held.has(id)) return true;
        const {rows} = await client.query<{ok: boolean}>("SELECT pg_try_advisory_lock($1, $2) AS ok", [LEASE_LOCK_SPACE, id]);
        if (rows[0]?.ok !== true) return false;
        this.#held.add(id);
        return true;
    }

    holds(id: number): boolean {
        return this.#held.has(id);
    }

    async release(id: number): Promise<void> {
        if (!this.#held.delete(id) || this.#session === null) return;
        const client = await this.#session;
        await client.query("SELECT pg_advisory_unlock($1, $2)", [LEASE_LOCK_SPACE, id]);
    }

    async close(): Promise<void> {
        this.#closed = true;
        const session = this.#session;
        this.#lost();
        await (await session?.catch(() => null))?.end().catch(() => undefined);
    }

    #connect(): Promise<pg.Client> {
        if (this.#closed) return Promise.reject(new StoreError("store/unavailable", `The lease session of ${this.owner} is closed`));
        if (this.#session === null) {
            const generation = this.#generation;
            // Only the session that dropped loses the claims, not a newer one.
            this.#session = this.#open(() => {
                if (this.#generation === generation) this.#lost();
            });
        }
        return this.#session;
    }

    async #open(drop: () => void): Promise<pg.Client> {
        const client = new pg.Client({connectionString: this.url, keepAlive: true, connectionTimeoutMillis: 5000, application_name: `rwkv-bot leases ${this.owner}`});
        client.on("error", drop);
        client.on("end", drop);
        try {
            await client.connect();
            await client.query(KEEPALIVES);
            return client;
        } catch (error) {
            drop();
            await client.end().catch(() => undefined);
            throw error;
        }
    }

    #lost(): void {
        this.#generation++;
        this.#session = null;
        this.#held.clear();
    }
}
