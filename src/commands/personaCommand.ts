import type {AdminCommand} from "./AdminCommand.ts";

/**
 * `persona [TEXT | off]`: shows the priming text, or sets (or clears) it and resets the
 * conversation to the newly primed state. `\n` in TEXT stands for a newline.
 */
export const personaCommand: AdminCommand = {
    name: "persona",
    summary: "persona [TEXT|off]: show, set or clear the priming text (setting it resets the conversation)",
    adminOnly: true,
    async run({turn, args, scheduler}) {
        if (args === "") {
            const persona = await scheduler.exclusive(turn, async (conversation) => conversation.record.settings.persona);
            return {text: persona === null || persona === "" ? "No persona: conversations start empty." : `Persona:\n${persona}`};
        }
        const persona = args === "off" ? null : args.replace(/\\n/g, "\n");
        await scheduler.exclusive(turn, async (conversation, slot) => {
            await conversation.changeSettings({persona});
            await conversation.reset(slot);
        }, true);
        return {text: persona === null ? "Persona cleared; conversation reset." : "Persona set; conversation reset to it."};
    },
};
