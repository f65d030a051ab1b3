import {existsSync, readdirSync} from "node:fs";
import {mkdir, open, readFile, rename, rm} from "node:fs/promises";
import path from "node:path";
import {StoreError} from "../errors/BotError.ts";
import type {LoggedTurn, StateStore, TurnInput} from "./StateStore.ts";

/** A finished exchange that could not be logged: its turns in order, each with the append id that keeps a retry from logging it twice. */
export interface HeldExchange {
    readonly epoch: number;
    readonly turns: readonly (TurnInput & {readonly appendId: string})[];
}

interface OutboxFile {
    readonly version: 1;
    readonly key: string;
    readonly exchanges: HeldExchange[];
}

/**
 * Finished turns that could not be logged (the database was down), on disk until they are:
 * one file per conversation, written whole and synced before the reply is delivered, so a
 * reply the user saw survives the process dying. Bounded by the number of conversations with
 * turns waiting (`maxConversations`); a conversation waits while its file exists, so each
 * holds one exchange. @see DESIGN.md § Persistence
 */
export class TurnOutbox {
    constructor(readonly dir: string, readonly maxConversations: number) {}

    /** Whether `key` has turns waiting (read from disk: another process's file counts too). */
    has(key: string): boolean {
        return existsSync(this.#path(key));
    }

    /** The conversations with turns waiting. */
    keys(): string[] {
        try {
            return readdirSync(this.dir).filter((name) => name.endsWith(".json")).map((name) => Buffer.from(name.slice(0, -5), "base64url").toString());
        } catch (error) {
            if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
            throw error;
        }
    }

    /** Whether another conversation's turns would fit. */
    hasRoom(): boolean {
        return this.keys().length < this.maxConversations;
    }

    /** Keeps `exchange` after any waiting in `key`; resolves once it is on disk. */
    async hold(key: string, exchange: HeldExchange): Promise<void> {
        const held = await this.#read(key);
        await this.#write(this.#path(key), {version: 1, key, exchanges: [...held?.exchanges ?? [], exchange]});
    }

    /**
     * Logs `key`'s waiting turns in order (the caller holds its lease) and empties its file;
     * returns the turns logged. A turn logged before its connection broke is found by its append
     * id, not logged twice. Exchanges of an epoch a reset has closed are set aside in
     * `set-aside/` and returned in `setAside`. Rejects, keeping the file, while the store fails.
     */
    async deliver(key: string, store: Pick<StateStore, "appendTurn">): Promise<{logged: LoggedTurn[], setAside: number}> {
        const held = await this.#read(key);
        if (held === null) return {logged: [], setAside: 0};
        const logged: LoggedTurn[] = [];
        const setAside: HeldExchange[] = [];
        for (const exchange of held.exchanges) {
            try {
                for (const turn of exchange.turns) logged.push(await store.appendTurn(key, turn));
            } catch (error) {
                // A closed epoch, or a message another process logged meanwhile: kept aside, never logged twice.
                if (!(error instanceof StoreError && (error.code === "store/stale_epoch" || error.code === "store/already_logged"))) throw error;
                setAside.push(exchange);
            }
        }
        if (setAside.length > 0) {
            await this.#write(path.join(this.dir, "set-aside", `${path.basename(this.#path(key), ".json")}-${Date.now()}.json`), {...held, exchanges: setAside});
        }
        await rm(this.#path(key), {force: true});
        await syncDirectory(this.dir);
        return {logged, setAside: setAside.length};
    }

    #path(key: string): string {
        return path.join(this.dir, `${Buffer.from(key).toString("base64url")}.json`);
    }

    async #read(key: string): Promise<OutboxFile | null> {
        let text: string;
        try {
            text = await readFile(this.#path(key), "utf8");
        } catch (error) {
            if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
            throw error;
        }
        const file = JSON.parse(text) as OutboxFile;
        if (file.version !== 1 || file.key !== key || !Array.isArray(file.exchanges)) {
            throw new StoreError("store/outbox_unreadable", `The outbox file ${this.#path(key)} is not one this version wrote`);
        }
        return file;
    }

    // Written aside, synced, renamed, and the directory synced: the file is whole or absent after a crash.
    async #write(target: string, file: OutboxFile): Promise<void> {
        const dir = path.dirname(target);
        await mkdir(dir, {recursive: true});
        const draft = `${target}.${process.pid}.tmp`;
        const handle = await open(draft, "w");
        try {
            await handle.writeFile(JSON.stringify(file));
            await handle.sync();
        } finally {
            await handle.close();
        }
        await rename(draft, target);
        await syncDirectory(dir);
    }
}

async function syncDirectory(dir: string): Promise<void> {
    const handle = await open(dir, "r");
    try {
        await handle.sync();
    } finally {
        await handle.close();
    }
}
