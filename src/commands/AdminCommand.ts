import type {ReplyFile} from "../core/ReplySink.ts";
import type {Turn} from "../core/Turn.ts";
import type {ModelInfo} from "../core/ModelInfo.ts";
import type {SamplingOptions} from "../inference/SamplingOptions.ts";
import type {Scheduler} from "../scheduler/Scheduler.ts";

/** What a command runs with. */
export interface CommandContext {
    readonly turn: Turn;
    /** The rest of the command line, trimmed. */
    readonly args: string;
    readonly scheduler: Scheduler;
    readonly model: ModelInfo;
    /** Sampling of conversations that set none of their own. */
    readonly sampling: SamplingOptions;
    /** The process answering (its lease owner name). */
    readonly instance: string;
}

/** What a command answers: text, and maybe a file. */
export interface CommandReply {
    readonly text: string;
    readonly file?: ReplyFile;
}

/**
 * A platform-neutral admin command. Adapters decide who is an admin (`turn.author.isAdmin`);
 * a command marked `adminOnly` is refused politely to anyone else, and changes nothing.
 */
export interface AdminCommand {
    readonly name: string;
    /** One line for the help text, with the arguments, e.g. `export [FILE]: …`. */
    readonly summary: string;
    readonly adminOnly: boolean;
    /** Throws a UserFacingError for a bad argument. */
    run(context: CommandContext): Promise<CommandReply>;
}
