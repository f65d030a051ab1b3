import type {AdminCommand} from "./AdminCommand.ts";

/** `export [FILE]`: the conversation as one portable file (state + transcript), checkpointed first. */
export const exportCommand: AdminCommand = {
    name: "export",
    summary: "export [FILE]: save this conversation (state and transcript) as a file",
    adminOnly: true,
    async run({turn, args, scheduler}) {
        const bytes = await scheduler.exclusive(turn, async (conversation, slot) => {
            await conversation.checkpoint(slot, "export");
            return conversation.exportFile();
        });
        const name = args === "" ? `${turn.conversation.replace(/[^\w.-]+/g, "_")}.rwkvconv` : args;
        return {text: `Exported ${bytes.byteLength} bytes.`, file: {name, bytes}};
    },
};
