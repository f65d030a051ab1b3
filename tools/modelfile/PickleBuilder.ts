/** Emits pickle protocol-2 opcodes, memoising the way Python's pickler does. */
export class PickleBuilder {
    private readonly parts: Buffer[] = [];
    private memoCount = 0;

    raw(...bytes: number[]): void {
        this.parts.push(Buffer.from(bytes));
    }

    /** BINPUT/LONG_BINPUT of the value on top of the stack; returns its memo slot. */
    memoize(): number {
        const slot = this.memoCount++;
        if (slot < 256) {
            this.raw(0x71, slot);
        } else {
            const b = Buffer.alloc(5);
            b[0] = 0x72;
            b.writeUInt32LE(slot, 1);
            this.parts.push(b);
        }
        return slot;
    }

    get(slot: number): void {
        if (slot < 256) {
            this.raw(0x68, slot);
        } else {
            const b = Buffer.alloc(5);
            b[0] = 0x6a;
            b.writeUInt32LE(slot, 1);
            this.parts.push(b);
        }
    }

    global(module: string, name: string): number {
        this.parts.push(Buffer.from(`c${module}\n${name}\n`, "utf8"));
        return this.memoize();
    }

    string(text: string): number {
        const bytes = Buffer.from(text, "utf8");
        const head = Buffer.alloc(5);
        head[0] = 0x58; // BINUNICODE
        head.writeUInt32LE(bytes.length, 1);
        this.parts.push(head, bytes);
        return this.memoize();
    }

    int(value: number): void {
        if (value >= 0 && value < 0x100) {
            this.raw(0x4b, value);
        } else if (value >= 0 && value < 0x10000) {
            this.raw(0x4d, value & 0xff, value >> 8);
        } else if (value >= -0x80000000 && value < 0x80000000) {
            const b = Buffer.alloc(5);
            b[0] = 0x4a;
            b.writeInt32LE(value, 1);
            this.parts.push(b);
        } else {
            // LONG1: the shortest little-endian two's complement, as Python writes it.
            const bytes: number[] = [];
            let rest = BigInt(value);
            for (;;) {
                const byte = Number(rest & 0xffn);
                bytes.push(byte);
                rest >>= 8n;
                if ((rest === 0n && byte < 0x80) || (rest === -1n && byte >= 0x80)) break;
            }
            this.raw(0x8a, bytes.length, ...bytes);
        }
    }

    tuple(values: readonly number[]): void {
        if (values.length === 0) {
            this.raw(0x29);
            return;
        }
        if (values.length > 3) this.raw(0x28);
        for (const value of values) this.int(value);
        this.raw(values.length > 3 ? 0x74 : 0x84 + values.length);
        this.memoize();
    }

    finish(): Buffer {
        return Buffer.concat(this.parts);
    }
}
