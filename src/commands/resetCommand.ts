import type {AdminCommand} from "./AdminCommand.ts";

/** `reset`: cancels the conversation's turns and starts it afresh (empty, or primed with its persona). */
export const resetCommand: AdminCommand = {
    name: "reset",
    summary: "reset: forget this conversation (back to its initial state)",
    adminOnly: true,
    async run({turn, scheduler}) {
        await scheduler.exclusive(turn, (conversation, slot) => conversation.reset(slot), true);
        return {text: "Conversation reset."};
    },
};
