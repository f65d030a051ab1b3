import type {AdminCommand} from "./AdminCommand.ts";
import {exportCommand} from "./exportCommand.ts";
import {importCommand} from "./importCommand.ts";
import {personaCommand} from "./personaCommand.ts";
import {resetCommand} from "./resetCommand.ts";
import {settingsCommand} from "./settingsCommand.ts";
import {statusCommand} from "./statusCommand.ts";
import {stopCommand} from "./stopCommand.ts";

/** Every admin command, in the order help lists them. */
export const adminCommands: readonly AdminCommand[] = [statusCommand, resetCommand, stopCommand, exportCommand, importCommand, personaCommand, settingsCommand];

/** The command called `name` (case-insensitive), if any. */
export function findCommand(name: string): AdminCommand | undefined {
    const lower = name.toLowerCase();
    return adminCommands.find((command) => command.name === lower);
}
