import {UserFacingError} from "../errors/BotError.ts";
import type {AdminCommand} from "./AdminCommand.ts";

/** `import` (with the exported file attached): replaces the conversation with the file's, as a new epoch. */
export const importCommand: AdminCommand = {
    name: "import",
    summary: "import FILE: replace this conversation with an exported one",
    adminOnly: true,
    async run({turn, scheduler}) {
        const file = turn.attachment;
        if (file === undefined) throw new UserFacingError("command/no_file", "Attach the file to import.");
        // Downloaded only now, past the router's admin check, and before the conversation is held.
        const bytes = await file.read();
        const turns = await scheduler.exclusive(turn, (conversation, slot) => conversation.importFile(slot, bytes), true);
        return {text: `Imported ${file.name}: ${turns} turn(s).`};
    },
};
