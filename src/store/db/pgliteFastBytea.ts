import type {PGlite, QueryOptions, Transaction} from "@electric-sql/pglite";

const BYTEA = 17;

/** bytea → `\x…` text in one native call (PGlite's own codec works byte by byte, 8–10× slower). */
export function serializeBytea(value: Uint8Array): string {
    return "\\x" + Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("hex");
}

/** `\x…` text → bytes in one native call. */
export function parseBytea(text: string): Buffer {
    return Buffer.from(text.slice(2), "hex");
}

/** Codec options for `PGlite.create`, covering queries that pass no per-query parsers. */
export const fastByteaOptions = {serializers: {[BYTEA]: serializeBytea}, parsers: {[BYTEA]: parseBytea}};

/**
 * The PGlite instance handed to pglite-prisma-adapter, with the adapter's
 * per-query bytea parser (as slow as PGlite's) replaced by {@link parseBytea},
 * in transactions too. Other members are bound to the real instance, which
 * keeps its state in `#private` fields.
 */
export function withFastByteaQueries(db: PGlite): PGlite {
    return new Proxy(db, {
        get(target, property) {
            if (property === "query") return fastQuery(target);
            if (property === "transaction") {
                return <T>(callback: (tx: Transaction) => Promise<T>) => target.transaction((tx) => callback(fastTransaction(tx)));
            }
            const value = Reflect.get(target, property, target) as unknown;
            return typeof value === "function" ? value.bind(target) : value;
        },
    });
}

function fastTransaction(tx: Transaction): Transaction {
    return new Proxy(tx, {
        get(target, property) {
            if (property === "query") return fastQuery(target);
            const value = Reflect.get(target, property, target) as unknown;
            return typeof value === "function" ? value.bind(target) : value;
        },
    });
}

function fastQuery(target: Pick<PGlite, "query">): PGlite["query"] {
    return (sql: string, params?: unknown[], options?: QueryOptions) =>
        target.query(sql, params, options?.parsers ? {...options, parsers: {...options.parsers, [BYTEA]: parseBytea}} : options);
}
