import {ConsoleAdapter} from "../../adapters/console/ConsoleAdapter.ts";
import {DiscordAdapter} from "../../adapters/discord/DiscordAdapter.ts";
import {SlackAdapter} from "../../adapters/slack/SlackAdapter.ts";
import type {BotConfig} from "../config/BotConfig.ts";
import type {EditThrottle} from "../../adapters/shared/EditThrottle.ts";
import type {Adapter} from "../core/Adapter.ts";
import type {Logger} from "../core/Logger.ts";

/** What the adapters are built with besides the config. */
export interface AdapterContext {
    readonly editThrottle: EditThrottle;
    readonly log: Logger;
    /** The console adapter's streams; it ends the process's session when its input ends. */
    readonly console: {readonly input: NodeJS.ReadableStream; readonly output: NodeJS.WritableStream; readonly onEnd?: () => void};
}

/**
 * The platform adapters the config enables (each platform whose token is set); with none,
 * the console adapter, so the bot is usable with no chat platform at all.
 */
export function createAdapters(config: BotConfig, context: AdapterContext): Adapter[] {
    const adapters: Adapter[] = [];
    if (config.discord !== null) adapters.push(new DiscordAdapter({config: config.discord, editThrottle: context.editThrottle, logger: context.log}));
    if (config.slack !== null) adapters.push(new SlackAdapter({config: config.slack, throttle: context.editThrottle, logger: context.log}));
    if (adapters.length > 0) return adapters;
    return [new ConsoleAdapter({
        input: context.console.input as ConstructorParameters<typeof ConsoleAdapter>[0]["input"],
        output: context.console.output as ConstructorParameters<typeof ConsoleAdapter>[0]["output"],
        conversation: config.consoleConversation,
        ...(context.console.onEnd === undefined ? {} : {onEnd: context.console.onEnd}),
    })];
}
