import {createHash} from "node:crypto";
import {decodeSnapshot} from "./snapshotCodec.ts";
import type {StateDescriptor} from "./StateDescriptor.ts";
import type {ConversationSettings, TurnRole} from "./StateStore.ts";

/** The JSON part of an export: settings and the transcript the state was built from. */
export interface ExportManifest {
    readonly key: string;
    readonly settings: Required<ConversationSettings>;
    readonly exportedAt: string;
    /** The state includes turns 1..stateLogSeq; later turns are replayed on restore. */
    readonly stateLogSeq: number;
    readonly transcript: readonly {role: TurnRole, text: string, tokens: number[], createdAt: string}[];
}

/** A decoded, verified export. */
export interface ExportContents {
    readonly manifest: ExportManifest;
    /** The snapshot codec bytes, verified for the expected model. */
    readonly snapshot: Uint8Array;
    readonly state: Float32Array;
}

// Layout, little-endian: magic[8] "RWKVCONV", u32 version, u32 JSON bytes,
// u64 snapshot bytes, JSON (UTF-8), snapshot (snapshotCodec), sha-256[32] of
// everything before it.
const MAGIC = Buffer.from("RWKVCONV", "latin1");
const VERSION = 1;
const PREFIX_BYTES = 24;
const DIGEST_BYTES = 32;

/** Builds the portable export file. */
export function encodeExportFile(manifest: ExportManifest, snapshot: Uint8Array): Buffer {
    const json = Buffer.from(JSON.stringify(manifest), "utf8");
    const prefix = Buffer.alloc(PREFIX_BYTES);
    MAGIC.copy(prefix, 0);
    prefix.writeUInt32LE(VERSION, 8);
    prefix.writeUInt32LE(json.length, 12);
    prefix.writeBigUInt64LE(BigInt(snapshot.byteLength), 16);
    const body = Buffer.concat([prefix, json, snapshot]);
    return Buffer.concat([body, createHash("sha256").update(body).digest()]);
}

/**
 * Reads an export for the model `expected` describes. Truncated, foreign,
 * corrupted files and files for another model are refused with a message.
 */
export function decodeExportFile(file: Uint8Array, expected: StateDescriptor): {ok: true, contents: ExportContents} | {ok: false, message: string} {
    const buf = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
    if (buf.length < 8 || !buf.subarray(0, 8).equals(MAGIC)) return {ok: false, message: "not an rwkv-bot conversation export"};
    if (buf.length < PREFIX_BYTES + DIGEST_BYTES) return {ok: false, message: "export file is truncated"};
    const version = buf.readUInt32LE(8);
    if (version !== VERSION) return {ok: false, message: `export format version ${version}, this build reads ${VERSION}`};
    const jsonBytes = buf.readUInt32LE(12);
    const snapshotBytes = Number(buf.readBigUInt64LE(16));
    const total = PREFIX_BYTES + jsonBytes + snapshotBytes + DIGEST_BYTES;
    if (buf.length < total) return {ok: false, message: `export file is truncated (${buf.length} of ${total} bytes)`};
    if (buf.length > total) return {ok: false, message: "export file has trailing bytes"};
    const body = buf.subarray(0, total - DIGEST_BYTES);
    if (!createHash("sha256").update(body).digest().equals(buf.subarray(total - DIGEST_BYTES))) return {ok: false, message: "export file checksum does not match its contents"};
    let parsed: unknown;
    try {
        parsed = JSON.parse(buf.toString("utf8", PREFIX_BYTES, PREFIX_BYTES + jsonBytes));
    } catch {
        return {ok: false, message: "export file's transcript is not valid JSON"};
    }
    const snapshot = buf.subarray(PREFIX_BYTES + jsonBytes, PREFIX_BYTES + jsonBytes + snapshotBytes);
    const decoded = decodeSnapshot(snapshot, expected);
    if (!decoded.ok) return {ok: false, message: `export file's state is refused: ${decoded.message}`};
    const problem = manifestProblem(parsed);
    if (problem !== null) return {ok: false, message: `export file's manifest is malformed: ${problem}`};
    const manifest = parsed as ExportManifest;
    if (manifest.stateLogSeq > manifest.transcript.length) return {ok: false, message: "export file's transcript is inconsistent with its state"};
    return {ok: true, contents: {manifest, snapshot, state: decoded.state}};
}

const ROLES: ReadonlySet<unknown> = new Set<TurnRole>(["system", "user", "assistant"]);

// The checksum only shows the file is intact, not that its writer was this
// code: what is imported must fit the log's columns, and a log position out
// of range would make restore feed turns twice.
function manifestProblem(parsed: unknown): string | null {
    if (typeof parsed !== "object" || parsed === null) return "not an object";
    const {settings, transcript, stateLogSeq} = parsed as Partial<Record<keyof ExportManifest, unknown>>;
    const s = settings as Partial<Record<keyof ExportManifest["settings"], unknown>> | null | undefined;
    if (typeof s !== "object" || s === null || typeof s.chatFormat !== "string"
        || typeof s.sampling !== "object" || s.sampling === null || !(s.persona === null || typeof s.persona === "string")) {
        return "bad settings";
    }
    if (!Array.isArray(transcript)) return "no transcript";
    if (typeof stateLogSeq !== "number" || !Number.isSafeInteger(stateLogSeq) || stateLogSeq < 0) return `bad state position ${String(stateLogSeq)}`;
    for (const [i, turn] of transcript.entries()) {
        const t = turn as Partial<Record<keyof ExportManifest["transcript"][number], unknown>> | null;
        if (typeof t !== "object" || t === null || !ROLES.has(t.role) || typeof t.text !== "string"
            || typeof t.createdAt !== "string" || Number.isNaN(Date.parse(t.createdAt))
            || !Array.isArray(t.tokens) || !t.tokens.every((id) => Number.isInteger(id) && id >= 0 && id <= 0x7fffffff)) {
            return `bad turn ${i + 1}`;
        }
    }
    return null;
}
