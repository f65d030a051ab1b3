import {PGlite} from "@electric-sql/pglite";
import type pg from "pg";

// COPY's binary format (PostgreSQL docs, "COPY", File Formats): an 11-byte
// signature, a 32-bit flags field, a 32-bit header-extension length and the
// extension; then per row a 16-bit field count (-1 ends the data) and per
// field a 32-bit length (-1 = NULL) and the bytes. Integers are big-endian.
const SIGNATURE = Buffer.from("PGCOPY\n\xff\r\n\0", "latin1");
const FIXED_HEADER_BYTES = 19;

/**
 * Reads the one bytea value that `select` (a query of one column, at most one
 * row) returns, through `COPY (select) TO … (FORMAT binary)`. A SELECT returns
 * bytea as hex text, twice the bytes, decoded on arrival; COPY hands over the
 * bytes as they are: a 43 MB state arrives 3–4× sooner (bench/storeBench.ts).
 * node-postgres cannot do this with a binary SELECT: it decodes every value as
 * UTF-8. PGlite delivers COPY output as a Blob through its `/dev/blob` device.
 * Resolves to null when there is no row or the value is NULL.
 */
export async function copyOutBytea(db: pg.Pool | PGlite, select: string): Promise<Buffer | null> {
    if (db instanceof PGlite) {
        const {blob} = await db.query(`COPY (${select}) TO '/dev/blob' (FORMAT binary)`);
        if (blob === undefined) throw new Error("PGlite returned no COPY output");
        const reader = new SingleValueReader();
        reader.push(Buffer.from(await blob.arrayBuffer()));
        return reader.finish();
    }
    const client = await db.connect();
    try {
        const copy = client.query(new CopyOutQuery(`COPY (${select}) TO STDOUT (FORMAT binary)`));
        const value = await copy.result;
        client.release();
        return value;
    } catch (error) {
        // The connection may be mid-protocol: discard it rather than reuse it.
        client.release(error as Error);
        throw error;
    }
}

/** A node-postgres custom query: sends the COPY and assembles the value from the CopyData messages. */
class CopyOutQuery implements pg.Submittable {
    readonly result: Promise<Buffer | null>;
    private readonly reader = new SingleValueReader();
    private failure: Error | undefined;
    private resolve!: (value: Buffer | null) => void;
    private reject!: (error: Error) => void;

    constructor(private readonly text: string) {
        this.result = new Promise((resolve, reject) => {
            this.resolve = resolve;
            this.reject = reject;
        });
    }

    submit(connection: pg.Connection): void {
        connection.query(this.text);
    }

    handleCopyData(message: {chunk: Buffer}): void {
        if (this.failure !== undefined) return;
        try {
            this.reader.push(message.chunk);
        } catch (error) {
            this.failure = error as Error;
        }
    }

    handleCommandComplete(): void {}

    handleError(error: Error): void {
        this.failure ??= error;
        this.reject(this.failure);
    }

    handleReadyForQuery(): void {
        if (this.failure !== undefined) {
            this.reject(this.failure);
            return;
        }
        try {
            this.resolve(this.reader.finish());
        } catch (error) {
            this.reject(error as Error);
        }
    }
}

/**
 * Parses a binary COPY stream of one row and one field as it arrives. The
 * value is copied once into its own buffer: CopyData chunks are views of the
 * driver's read buffer, which it reuses.
 */
class SingleValueReader {
    private head = Buffer.alloc(0);
    /** Undefined until the header and the field's length have arrived. */
    private value: Buffer | null | undefined;
    private filled = 0;

    push(chunk: Buffer): void {
        let at = 0;
        while (this.value === undefined) {
            const needed = this.headerBytes() - this.head.length;
            if (needed === 0) {
                this.value = this.startValue();
                break;
            }
            if (at >= chunk.length) return;
            const part = chunk.subarray(at, at + needed);
            at += part.length;
            this.head = Buffer.concat([this.head, part]);
        }
        if (this.value !== null) this.filled += chunk.copy(this.value, this.filled, at);
    }

    finish(): Buffer | null {
        if (this.value === undefined || (this.value !== null && this.filled < this.value.length)) {
            throw new Error("COPY ended inside its value");
        }
        return this.value;
    }

    // Bytes before the value: the fixed header and its extension, the field
    // count, and (when a row follows) the field's length.
    private headerBytes(): number {
        if (this.head.length < FIXED_HEADER_BYTES) return FIXED_HEADER_BYTES;
        const rowStart = FIXED_HEADER_BYTES + this.head.readUInt32BE(15);
        if (this.head.length < rowStart + 2) return rowStart + 2;
        return this.head.readInt16BE(rowStart) === -1 ? rowStart + 2 : rowStart + 6;
    }

    private startValue(): Buffer | null {
        if (!this.head.subarray(0, SIGNATURE.length).equals(SIGNATURE)) throw new Error("COPY output is not in the binary format");
        const rowStart = FIXED_HEADER_BYTES + this.head.readUInt32BE(15);
        const fields = this.head.readInt16BE(rowStart);
        if (fields === -1) return null;
        if (fields !== 1) throw new Error(`COPY returned ${fields} columns, expected 1`);
        const length = this.head.readInt32BE(rowStart + 2);
        return length === -1 ? null : Buffer.allocUnsafe(length);
    }
}
