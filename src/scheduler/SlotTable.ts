/** What the {@link SlotTable} asks of its owner. */
export interface SlotTableHooks<K> {
    /**
     * Saves `key`'s state out of `slot` before the slot is reused (export + checkpoint).
     * Must not reject: a failed save is the owner's to log (the store's log still holds the truth).
     */
    evict(key: K, slot: number): Promise<void>;
}

interface Entry<K> {
    key: K;
    pins: number;
    lastUsed: number;
}

/**
 * Engine slots as a cache of conversation states: maps a key to a slot, pins slots in use,
 * and when a key misses, takes a free slot or the least recently used unpinned one (saving
 * its owner first through {@link SlotTableHooks.evict}). When every slot is pinned, callers
 * wait in arrival order. A pinned slot is never evicted.
 */
export class SlotTable<K> {
    readonly #entries: (Entry<K> | null)[];
    readonly #byKey = new Map<K, number>();
    readonly #hooks: SlotTableHooks<K>;
    readonly #waiters: (() => void)[] = [];
    // Keys whose state is being saved out of a slot: their next acquire waits for it.
    readonly #evicting = new Map<K, Promise<void>>();
    #clock = 0;

    constructor(slotCount: number, hooks: SlotTableHooks<K>) {
        this.#entries = new Array<Entry<K> | null>(slotCount).fill(null);
        this.#hooks = hooks;
    }

    /** The slot holding `key`, if any. */
    slotOf(key: K): number | undefined {
        return this.#byKey.get(key);
    }

    /** Keys held in slots, with their slots. */
    held(): [K, number][] {
        return [...this.#byKey];
    }

    /**
     * Pins a slot for `key` and returns it. On a miss the slot is filled by `load` (restore
     * from the store); if `load` fails the slot is freed and the error rethrown.
     * Every successful acquire must be matched by one {@link release}.
     */
    async acquire(key: K, load: (slot: number) => Promise<void>): Promise<number> {
        await this.#evicting.get(key);
        const held = this.#byKey.get(key);
        if (held !== undefined) {
            this.#entries[held]!.pins++;
            return held;
        }
        let slot = this.#claim(key);
        while (slot === null) {
            await new Promise<void>((resolve) => this.#waiters.push(resolve));
            const heldNow = this.#byKey.get(key);
            if (heldNow !== undefined) {
                this.#entries[heldNow]!.pins++;
                return heldNow;
            }
            slot = this.#claim(key);
        }
        try {
            // The previous owner's state must be out before the new one goes in.
            await slot.saving;
            await load(slot.index);
        } catch (error) {
            this.#free(slot.index);
            throw error;
        }
        return slot.index;
    }

    /** Unpins `key`'s slot (it stays cached, most recently used). */
    release(key: K): void {
        const slot = this.#byKey.get(key);
        if (slot === undefined) return;
        const entry = this.#entries[slot]!;
        entry.pins = Math.max(0, entry.pins - 1);
        entry.lastUsed = ++this.#clock;
        if (entry.pins === 0) this.#wake();
    }

    /**
     * Drops `key` from its slot without saving (its state is wrong or obsolete: the store's
     * log is the truth). The slot is freed once unpinned.
     */
    forget(key: K): void {
        const slot = this.#byKey.get(key);
        if (slot === undefined) return;
        this.#free(slot);
    }

    #claim(key: K): {index: number, saving?: Promise<void>} | null {
        let index = this.#entries.indexOf(null);
        if (index < 0) {
            let oldest = Infinity;
            this.#entries.forEach((entry, i) => {
                if (entry !== null && entry.pins === 0 && entry.lastUsed < oldest) {
                    oldest = entry.lastUsed;
                    index = i;
                }
            });
            if (index < 0) return null;
            const victim = this.#entries[index]!;
            this.#byKey.delete(victim.key);
            const saving = this.#hooks.evict(victim.key, index).finally(() => this.#evicting.delete(victim.key));
            this.#evicting.set(victim.key, saving);
            this.#entries[index] = {key, pins: 1, lastUsed: ++this.#clock};
            this.#byKey.set(key, index);
            return {index, saving};
        }
        this.#entries[index] = {key, pins: 1, lastUsed: ++this.#clock};
        this.#byKey.set(key, index);
        return {index};
    }

    #free(slot: number): void {
        const entry = this.#entries[slot];
        if (entry === null || entry === undefined) return;
        this.#byKey.delete(entry.key);
        this.#entries[slot] = null;
        this.#wake();
    }

    #wake(): void {
        this.#waiters.shift()?.();
    }
}
