import {createWriteStream} from "node:fs";
import {pipeline} from "node:stream/promises";
import {openDatabase} from "../../store/db/openDatabase.ts";
import {fineTuneDataset} from "../../store/fineTuneDataset.ts";
import type {CliCommand} from "../CliCommand.ts";
import {UsageError} from "../UsageError.ts";

const usage = `usage: npm run -s cli -- export-dataset --out FILE [--epochs current|all] [--since DATE] [--until DATE]

Writes every conversation of the bot's database as training-format JSONL, one line
per conversation epoch: {"text": "<s>User:…\\n\\n</s>Assistant:…\\n\\n</s>…"}.
The database is DATABASE_URL, or else the embedded one in BOT_DATA_DIR (default
.data/pglite; stop the bot first: it holds that directory's lock); .env is read.
  --epochs  current (default): each conversation since its last reset; all: every epoch
  --since   only turns logged at or after DATE (ISO 8601, e.g. 2026-01-31 or 2026-01-31T12:00Z)
  --until   only turns logged before DATE`;

function date(value: string | undefined, flag: string): Date | undefined {
    if (value === undefined) return undefined;
    const parsed = new Date(value);
    if (Number.isNaN(parsed.getTime())) throw new UsageError(`--${flag} must be a date (ISO 8601, e.g. 2026-01-31), got "${value}"`);
    return parsed;
}

/** `export-dataset`: a whole database's conversations as one fine-tuning file. */
export const command: CliCommand = {
    name: "export-dataset",
    summary: "write every conversation in the database as training-format JSONL",
    usage,
    options: {
        out: {type: "string"},
        epochs: {type: "string", default: "current"},
        since: {type: "string"},
        until: {type: "string"},
    },
    async run(args) {
        const out = args.requireString("out");
        const epochs = args.string("epochs");
        if (epochs !== "current" && epochs !== "all") throw new UsageError(`--epochs must be current or all, got "${epochs}"`);
        const since = date(args.string("since"), "since");
        const until = date(args.string("until"), "until");
        const url = process.env.DATABASE_URL?.trim();
        const database = await openDatabase({...(url ? {url} : {dataDir: process.env.BOT_DATA_DIR?.trim() || ".data/pglite"}), migrate: false});
        const selection = {epochs, ...(since === undefined ? {} : {since}), ...(until === undefined ? {} : {until})} as const;
        let lines = 0;
        try {
            await pipeline(async function* () {
                for await (const line of fineTuneDataset(database.prisma, selection)) {
                    lines++;
                    yield line;
                }
            }, createWriteStream(out));
        } finally {
            await database.close();
        }
        console.log(`wrote ${lines} conversation(s) to ${out} (${database.kind} ${database.description})`);
        return 0;
    },
};
