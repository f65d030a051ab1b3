import {Tokenizer} from "../inference/Tokenizer.ts";
import {checkWorldVocab, worldVocabPath} from "../inference/worldVocab.ts";
import type {CliOptions, ParsedArgs} from "./CliCommand.ts";

/** The flags of every command that tokenizes: `--vocab FILE` and `--vocab-custom`. */
export const vocabFlags: CliOptions = {"vocab": {type: "string"}, "vocab-custom": {type: "boolean"}};

/** Their lines of a command's usage. */
export const vocabFlagsUsage = [
    "  --vocab FILE        the vocabulary; defaults to the World vocabulary shipped in vocab/",
    "  --vocab-custom      use --vocab even if it looks like the World vocabulary (its file name, or a",
    "                      model of 65536 rows) but is not that file byte for byte",
];

/**
 * The tokenizer of `--vocab`, refused when it claims to be the World vocabulary but differs
 * (unless `--vocab-custom`); call {@link checkVocabFlags} again once the model's rows are known.
 */
export async function loadVocabFlags(args: ParsedArgs): Promise<Tokenizer> {
    const tokenizer = await Tokenizer.load(args.string("vocab") ?? worldVocabPath, "--vocab");
    checkVocabFlags(args, tokenizer);
    return tokenizer;
}

/** {@link checkWorldVocab} for the flags' vocabulary, serving a model of `modelRows` rows when given. */
export function checkVocabFlags(args: ParsedArgs, tokenizer: Tokenizer, modelRows?: number): void {
    checkWorldVocab({
        path: args.string("vocab") ?? worldVocabPath, sha256: tokenizer.sha256, vocabSize: tokenizer.vocabSize,
        ...(modelRows === undefined ? {} : {modelRows}),
        custom: args.flag("vocab-custom"), settings: {path: "--vocab", custom: "pass --vocab-custom"},
    });
}
