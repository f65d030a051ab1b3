import type {StoreClient} from "./db/createStoreClient.ts";
import type {TurnRole} from "./StateStore.ts";
import {toFineTuneJsonl} from "./toFineTuneJsonl.ts";

/** Which part of the database {@link fineTuneDataset} exports. */
export interface DatasetSelection {
    /** `current`: each conversation's live epoch; `all`: every epoch, reset ones included. */
    readonly epochs: "current" | "all";
    /** Turns logged at or after this time. */
    readonly since?: Date;
    /** Turns logged before this time. */
    readonly until?: Date;
}

/**
 * Every selected conversation epoch as one line of training-format JSONL (see
 * {@link toFineTuneJsonl}), one conversation at a time so memory stays bounded. A range that
 * cuts an exchange drops its half: a reply without its message, or a message without its reply.
 */
export async function* fineTuneDataset(prisma: StoreClient, selection: DatasetSelection): AsyncGenerator<string> {
    const conversations = await prisma.conversation.findMany({select: {id: true, epoch: true}, orderBy: {id: "asc"}});
    for (const conversation of conversations) {
        const turns = await prisma.turn.findMany({
            where: {
                conversationId: conversation.id,
                ...(selection.epochs === "current" ? {epoch: conversation.epoch} : {}),
                createdAt: {...(selection.since === undefined ? {} : {gte: selection.since}), ...(selection.until === undefined ? {} : {lt: selection.until})},
            },
            select: {epoch: true, role: true, text: true},
            orderBy: [{epoch: "asc"}, {seq: "asc"}],
        });
        for (const epoch of new Set(turns.map((turn) => turn.epoch))) {
            const exchanges = wholeExchanges(turns.filter((turn) => turn.epoch === epoch) as {role: TurnRole; text: string}[]);
            const line = toFineTuneJsonl(exchanges);
            if (line !== "") yield line;
        }
    }
}

function wholeExchanges<T extends {role: TurnRole}>(turns: T[]): T[] {
    const chat = turns.filter((turn) => turn.role !== "system");
    const first = chat[0]?.role === "assistant" ? 1 : 0;
    const end = chat.at(-1)?.role === "user" ? chat.length - 1 : chat.length;
    return chat.slice(first, Math.max(first, end));
}
