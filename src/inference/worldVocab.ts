import {basename} from "node:path";
import {fileURLToPath} from "node:url";
import {TokenizerError} from "../errors/BotError.ts";

/** File name of the RWKV World vocabulary, as distributed upstream. */
export const worldVocabFileName = "rwkv_vocab_v20230424.txt";

/** The World vocabulary shipped with the package (`vocab/`, with its provenance and licence): the default. */
export const worldVocabPath = fileURLToPath(new URL(`../../vocab/${worldVocabFileName}`, import.meta.url));

/** SHA-256 of the upstream file, byte for byte (`vocab/README.md`). */
export const worldVocabSha256 = "e6dee3d4e31b4d5c40ac99508ac6c701ceef4bed681bf2167ce9a908552bca89";

/** One past its highest id (ids 1..65529, plus 0). */
const worldVocabSize = 65530;

/** Rows of the embedding and head of every World model: the vocabulary's ids, padded to 2^16. */
export const worldModelRows = 65536;

/** A vocabulary about to be used, as {@link checkWorldVocab} judges it. */
export interface VocabUse {
    readonly path: string;
    /** SHA-256 of the file's bytes, hex. */
    readonly sha256: string;
    /** One past its highest id. */
    readonly vocabSize: number;
    /** Rows of the model it will serve; absent when there is no model (tokenize, detokenize). */
    readonly modelRows?: number;
    /** A custom vocabulary was asked for explicitly: let a file that looks like the World one through. */
    readonly custom: boolean;
    /** How the user names the path and the custom switch here, for the message (`RWKV_VOCAB`, `--vocab-custom`). */
    readonly settings: {readonly path: string; readonly custom: string};
}

/**
 * Refuses a vocabulary that claims to be the World vocabulary but is not that file byte for byte:
 * one named `rwkv_vocab_v20230424.txt`, or one serving a model of the World vocabulary's 65536 rows.
 * A copy cut at a line boundary still parses and silently tokenizes differently (docs/rwkv5.md §8),
 * so the checksum is the only reliable test. Other vocabularies, and any with `custom`, pass.
 *
 * @throws TokenizerError `tokenizer/not_world_vocab`, naming the claim, both checksums and the way out.
 */
export function checkWorldVocab(use: VocabUse): void {
    if (use.custom || use.sha256 === worldVocabSha256) return;
    const claims = [
        ...(basename(use.path) === worldVocabFileName ? [`it is named ${worldVocabFileName}`] : []),
        ...(use.modelRows === worldModelRows ? [`the model has ${worldModelRows} token rows, a World model's`] : []),
    ];
    if (claims.length === 0) return;
    const ids = use.vocabSize === worldVocabSize ? "" : `, and it has ids up to ${use.vocabSize - 1}, not ${worldVocabSize - 1}`;
    throw new TokenizerError(
        "tokenizer/not_world_vocab",
        `the vocabulary ${use.path} is not the RWKV World vocabulary, though ${claims.join(" and ")}: ` +
            `its SHA-256 is ${use.sha256.slice(0, 16)}…, not ${worldVocabSha256.slice(0, 16)}…${ids}. ` +
            `A cut or edited copy tokenizes differently. Use the World vocabulary shipped in vocab/ (leave ${use.settings.path} unset), ` +
            `or ${use.settings.custom} if this is a custom vocabulary on purpose.`,
    );
}
