import {UserFacingError} from "../errors/BotError.ts";
import {mergeSamplingOptions} from "../inference/SamplingOptions.ts";
import type {SamplingOptions} from "../inference/SamplingOptions.ts";
import type {AdminCommand} from "./AdminCommand.ts";
import {parseSettings} from "./parseSettings.ts";

/** `settings [format=… temperature=… top_p=… …]`: shows or changes the chat format and sampling here. */
export const settingsCommand: AdminCommand = {
    name: "settings",
    summary: "settings [format=chat|seed|completion] [temperature=… top_p=… top_k=… presence=… frequency=… decay=… seed=…|default]: show or change",
    adminOnly: true,
    async run({turn, args, scheduler, sampling}) {
        return scheduler.exclusive(turn, async (conversation) => {
            if (args !== "") {
                const parsed = parseSettings(args, conversation.record.settings.sampling, sampling);
                if (!parsed.ok) throw new UserFacingError("command/bad_settings", `Settings not changed: ${parsed.problems.join("; ")}.`);
                await conversation.changeSettings(parsed.change);
            }
            const merged = mergeSamplingOptions(sampling, conversation.record.settings.sampling as Partial<SamplingOptions>);
            const effective = merged.ok ? merged.options : sampling;
            return {text: [
                `${args === "" ? "" : "Changed. "}format: ${conversation.format.name}`,
                `sampling: temperature ${effective.temperature}, top_p ${effective.topP}, top_k ${effective.topK}, presence ${effective.presencePenalty}, frequency ${effective.frequencyPenalty}, decay ${effective.penaltyDecay}${effective.seed === undefined ? "" : `, seed ${effective.seed}`}`,
            ].join("\n")};
        });
    },
};
