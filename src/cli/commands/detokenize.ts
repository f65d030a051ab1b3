import {BotError} from "../../errors/BotError.ts";
import type {CliCommand} from "../CliCommand.ts";
import {readStdin, readStdinJsonLines} from "../readStdin.ts";
import {loadVocabFlags, vocabFlags, vocabFlagsUsage} from "../vocabFlags.ts";

/** `detokenize [--vocab FILE] [--jsonl]`: a JSON array of ids on stdin → the text (ChatRWKV `decode()`). */
export const command: CliCommand = {
    name: "detokenize",
    summary: "print the text of the JSON array of token ids on stdin (ChatRWKV decode semantics)",
    usage: [
        "usage: npm run -s cli -- detokenize [--vocab FILE] [--jsonl] < ids.json",
        "",
        ...vocabFlagsUsage,
        "  --jsonl             each stdin line is a JSON array of ids; print each text as a JSON string per line",
        "",
        "Without --jsonl the text is printed exactly, with no newline added. As upstream, the whole",
        "result is one U+FFFD when the bytes are not valid UTF-8 or an id has no entry (e.g. 0).",
    ].join("\n"),
    options: {...vocabFlags, jsonl: {type: "boolean"}},
    async run(args) {
        const tokenizer = await loadVocabFlags(args);
        if (!args.flag("jsonl")) {
            const input = (await readStdin()).toString("utf8");
            let value: unknown;
            try {
                value = JSON.parse(input);
            } catch (error) {
                throw new BotError("cli/bad_input", `stdin: not JSON (${(error as Error).message})`);
            }
            process.stdout.write(tokenizer.decode(tokenIds(value, "stdin")));
            return 0;
        }
        for await (const {value, line} of readStdinJsonLines()) {
            process.stdout.write(`${JSON.stringify(tokenizer.decode(tokenIds(value, `stdin line ${line}`)))}\n`);
        }
        return 0;
    },
};

function tokenIds(value: unknown, where: string): number[] {
    if (!Array.isArray(value) || !value.every((id) => Number.isInteger(id))) {
        throw new BotError("cli/bad_input", `${where}: expected a JSON array of integer token ids`);
    }
    return value as number[];
}
