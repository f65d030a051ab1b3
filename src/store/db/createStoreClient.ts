import type {SqlDriverAdapterFactory} from "@prisma/driver-adapter-utils";
import {PrismaClient} from "../../../generated/prisma/client.ts";

/**
 * The Prisma client of the store. Checkpoint blobs (tens of MB) are omitted
 * from every query; the one query that needs a blob opts in with
 * `omit: {state: false}`.
 */
export function createStoreClient(adapter: SqlDriverAdapterFactory) {
    return new PrismaClient({adapter, omit: {checkpoint: {state: true}}});
}

/** The client type {@link createStoreClient} returns. */
export type StoreClient = ReturnType<typeof createStoreClient>;

/**
 * Reads a checkpoint's encoded state through Prisma (bytea as hex text): the
 * read that `Database.readCheckpointState` speeds up, kept as the reference
 * that the store bench and tests compare it with.
 */
export function prismaCheckpointStateReader(prisma: StoreClient): (id: bigint) => Promise<Uint8Array | null> {
    return async (id) => (await prisma.checkpoint.findUnique({where: {id}, select: {state: true}}))?.state ?? null;
}
