import {adminCommands, findCommand} from "../commands/adminCommands.ts";
import type {CommandContext} from "../commands/AdminCommand.ts";
import {asBotError, UserFacingError} from "../errors/BotError.ts";
import type {ModelInfo} from "../core/ModelInfo.ts";
import type {SamplingOptions} from "../inference/SamplingOptions.ts";
import type {Scheduler} from "../scheduler/Scheduler.ts";
import type {TurnHandler} from "../core/Adapter.ts";
import type {Logger} from "../core/Logger.ts";
import type {ReplySink} from "../core/ReplySink.ts";
import type {Turn, TurnCommand} from "../core/Turn.ts";

/** What the router dispatches to. */
export interface RouterOptions {
    readonly scheduler: Scheduler;
    readonly model: ModelInfo;
    readonly sampling: SamplingOptions;
    readonly log: Logger;
    /** This process's identity (shown by `status`: which process serves the conversation). */
    readonly instance: string;
    /**
     * Takes a command whose conversation another live process took meanwhile (the scheduler's
     * `elsewhere` for chat turns); resolves false when it cannot, and the command is refused.
     */
    readonly elsewhere?: (turn: Turn, sink: ReplySink) => Promise<boolean>;
}

/**
 * `/name args` at the start of a message, when `name` is `help` or a command; anything else is chat.
 * Adapters that parse commands themselves (slash commands) set `turn.command` instead.
 */
export function parseCommandText(text: string): TurnCommand | null {
    const match = /^\/([a-z]+)(?:\s+([\s\S]*))?$/i.exec(text.trim());
    if (match === null) return null;
    const name = match[1]!.toLowerCase();
    if (name !== "help" && findCommand(name) === undefined) return null;
    return {name, args: (match[2] ?? "").trim()};
}

function helpText(): string {
    return ["Commands:", ...adminCommands.map((command) => `  ${command.summary}${command.adminOnly ? " (admins)" : ""}`)].join("\n");
}

/**
 * The core's {@link TurnHandler}: an admin command goes to src/commands (with the permission
 * check on the adapter's `isAdmin` flag), anything else is a chat turn for the scheduler.
 * Never rejects: failures end in `sink.fail`.
 */
export function createRouter(options: RouterOptions): TurnHandler {
    const {scheduler, log} = options;
    return async (turn, sink) => {
        const parsed = turn.command ?? parseCommandText(turn.text);
        if (parsed === null) return scheduler.chat(turn, sink);
        try {
            if (parsed.name === "help") return await sink.complete(helpText());
            const command = findCommand(parsed.name);
            if (command === undefined) throw new UserFacingError("command/unknown", `Unknown command "${parsed.name}".\n${helpText()}`);
            if (command.adminOnly && !turn.author.isAdmin) {
                throw new UserFacingError("command/forbidden", `Sorry, only admins can use ${command.name} here.`);
            }
            const context: CommandContext = {turn, args: parsed.args, scheduler, model: options.model, sampling: options.sampling, instance: options.instance};
            const reply = await command.run(context);
            await sink.complete(reply.text, reply.file);
        } catch (error) {
            const botError = asBotError(error);
            if (botError.code === "store/busy_elsewhere" && await options.elsewhere?.(turn, sink) === true) return;
            if (!(botError instanceof UserFacingError)) log.warn(`command ${parsed.name} in ${turn.conversation} failed`, botError);
            await sink.fail(botError);
        }
    };
}
