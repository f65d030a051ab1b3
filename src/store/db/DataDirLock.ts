import {linkSync, readFileSync, rmSync, writeFileSync} from "node:fs";
import {StoreError} from "../../errors/BotError.ts";

/** Lock files this process holds. */
const heldPaths = new Set<string>();

/**
 * An exclusive lock on a PGlite data directory: a `<dataDir>.lock` file holding
 * the owner's pid. PGlite takes no lock itself, and two processes writing one
 * directory corrupt it. A lock left by a dead process is taken over.
 */
export class DataDirLock {
    private constructor(private readonly path: string) {}

    /** Takes the lock or throws `store/data_dir_locked` naming the live owner. */
    static acquire(dataDir: string): DataDirLock {
        const path = `${dataDir}.lock`;
        for (let attempt = 0; attempt < 2; attempt++) {
            // Written aside, then linked: the lock never exists without its pid.
            const draft = `${path}.${process.pid}`;
            writeFileSync(draft, String(process.pid));
            try {
                linkSync(draft, path);
                heldPaths.add(path);
                return new DataDirLock(path);
            } catch (error) {
                if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
            } finally {
                rmSync(draft, {force: true});
            }
            const owner = readOwner(path);
            // Our own pid on a lock we do not hold was left by an earlier run
            // that had the same pid, as a restarted container's process does.
            const stale = owner === null || (owner === process.pid ? !heldPaths.has(path) : !isAlive(owner));
            if (!stale) {
                throw new StoreError("store/data_dir_locked", `The database directory ${dataDir} is in use by process ${owner}; stop it or set BOT_DATA_DIR to another directory`);
            }
            rmSync(path, {force: true});
        }
        throw new StoreError("store/data_dir_locked", `Could not lock ${dataDir}: another process keeps taking ${path}`);
    }

    /** Removes the lock file. */
    release(): void {
        heldPaths.delete(this.path);
        rmSync(this.path, {force: true});
    }
}

function readOwner(path: string): number | null {
    try {
        const pid = Number.parseInt(readFileSync(path, "utf8"), 10);
        return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
    } catch {
        return null;
    }
}

function isAlive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (error) {
        // EPERM: it exists but belongs to someone else.
        return (error as NodeJS.ErrnoException).code === "EPERM";
    }
}
