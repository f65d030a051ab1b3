import {loadEnvFile} from "../config/loadEnvFile.ts";
import {BotError} from "../errors/BotError.ts";
import type {CliCommand} from "./CliCommand.ts";
import {command as detokenize} from "./commands/detokenize.ts";
import {command as exportDataset} from "./commands/exportDataset.ts";
import {command as generate} from "./commands/generate.ts";
import {command as info} from "./commands/info.ts";
import {command as logits} from "./commands/logits.ts";
import {command as tokenize} from "./commands/tokenize.ts";
import {parseArgs} from "./parseArgs.ts";
import {UsageError} from "./UsageError.ts";

/** Every command of `npm run -s cli -- <command> [--flags]`, in the order `--help` lists them. */
const commands: readonly CliCommand[] = [info, logits, tokenize, detokenize, generate, exportDataset];

function overview(): string {
    const width = Math.max(...commands.map((command) => command.name.length));
    const lines = commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`);
    return ["usage: npm run -s cli -- <command> [--flags]   (<command> --help for its flags)", "", "commands:", ...lines].join("\n");
}

async function main(argv: readonly string[]): Promise<number> {
    const [name, ...rest] = argv;
    if (name === undefined || name === "--help" || name === "-h") {
        console.log(overview());
        return name === undefined ? 2 : 0;
    }
    const command = commands.find((candidate) => candidate.name === name);
    if (command === undefined) {
        console.error(`error: unknown command "${name}"\n\n${overview()}`);
        return 2;
    }
    if (rest.includes("--help") || rest.includes("-h")) {
        console.log(command.usage);
        return 0;
    }
    try {
        loadEnvFile();
        return await command.run(parseArgs(rest, command.options));
    } catch (error) {
        if (error instanceof UsageError) {
            console.error(`error: ${error.message}\n\n${command.usage}`);
            return 2;
        }
        // Expected failures carry a code: one line, no stack. Anything else is a bug and keeps its stack.
        if (error instanceof BotError) {
            console.error(`error: ${error.message} (${error.code})`);
            return 1;
        }
        console.error("error: unexpected failure", error);
        return 1;
    }
}

process.exitCode = await main(process.argv.slice(2));
