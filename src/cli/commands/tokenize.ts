import {BotError} from "../../errors/BotError.ts";
import {Tokenizer} from "../../inference/Tokenizer.ts";
import type {CliCommand} from "../CliCommand.ts";
import {readStdin, readStdinJsonLines} from "../readStdin.ts";

/** `tokenize --vocab FILE [--jsonl]`: UTF-8 text on stdin → its token ids as a JSON array. */
export const command: CliCommand = {
    name: "tokenize",
    summary: "print the token ids of the text on stdin (World tokenizer)",
    usage: [
        "usage: npm run -s cli -- tokenize --vocab FILE [--jsonl] < text",
        "",
        "  --vocab FILE  the World vocabulary (rwkv_vocab_v20230424.txt)",
        "  --jsonl       each stdin line is a JSON string; print one JSON array of ids per line",
        "",
        "Without --jsonl all of stdin is one text (its bytes as given, a final newline included).",
    ].join("\n"),
    options: {vocab: {type: "string"}, jsonl: {type: "boolean"}},
    async run(args) {
        const tokenizer = await Tokenizer.load(args.requireString("vocab"));
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
