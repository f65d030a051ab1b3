import {BotError} from "../../errors/BotError.ts";
import type {CliCommand} from "../CliCommand.ts";
import {readStdin, readStdinJsonLines} from "../readStdin.ts";
import {loadVocabFlags, vocabFlags, vocabFlagsUsage} from "../vocabFlags.ts";

/** `tokenize [--vocab FILE] [--jsonl]`: UTF-8 text on stdin → its token ids as a JSON array. */
export const command: CliCommand = {
    name: "tokenize",
    summary: "print the token ids of the text on stdin (World tokenizer)",
    usage: [
        "usage: npm run -s cli -- tokenize [--vocab FILE] [--jsonl] < text",
        "",
        ...vocabFlagsUsage,
        "  --jsonl             each stdin line is a JSON string; print one JSON array of ids per line",
        "",
        "Without --jsonl all of stdin is one text (its bytes as given, a final newline included).",
    ].join("\n"),
    options: {...vocabFlags, jsonl: {type: "boolean"}},
    async run(args) {
        const tokenizer = await loadVocabFlags(args);
        if (!args.flag("jsonl")) {
            process.stdout.write(`${JSON.stringify(tokenizer.encodeBytes(await readStdin()))}\n`);
            return 0;
        }
        for await (const {value, line} of readStdinJsonLines()) {
            if (typeof value !== "string") throw new BotError("cli/bad_input", `stdin line ${line}: expected a JSON string`);
            process.stdout.write(`${JSON.stringify(tokenizer.encode(value))}\n`);
        }
        return 0;
    },
};
