import {InteractionContextType, PermissionFlagsBits, SlashCommandBuilder} from "discord.js";
import type {RESTPostAPIChatInputApplicationCommandsJSONBody} from "discord.js";

/** The slash command's name: `/rwkv <subcommand>`. */
export const RWKV_COMMAND = "rwkv";

/** The option of `/rwkv import` that carries the export file. */
export const IMPORT_FILE_OPTION = "file";

/** The option of `/rwkv export` that picks the transcript as fine-tuning JSONL instead of the conversation file. */
export const EXPORT_FORMAT_OPTION = "format";

/** The option of `/rwkv settings` that carries changes (`name=value …`); empty shows them. */
export const SETTINGS_OPTION = "changes";

/** The option of `/rwkv persona` that carries the new priming text (or `off`); empty shows it. */
export const PERSONA_OPTION = "text";

/**
 * `/rwkv reset|export|import|status|settings|stop|persona`, the core's admin commands. The default permission (Manage Server) only
 * hides it from others in the UI: server admins can change that, so every call is checked
 * again from the interaction's permissions.
 */
export function rwkvCommand(allowDms: boolean): RESTPostAPIChatInputApplicationCommandsJSONBody {
    return new SlashCommandBuilder()
        .setName(RWKV_COMMAND)
        .setDescription("Manage this channel's RWKV conversation")
        .setDefaultMemberPermissions(PermissionFlagsBits.ManageGuild)
        .setContexts(allowDms ? [InteractionContextType.Guild, InteractionContextType.BotDM] : [InteractionContextType.Guild])
        .addSubcommand((sub) => sub.setName("reset").setDescription("Forget this conversation and start afresh"))
        .addSubcommand((sub) => sub
            .setName("export")
            .setDescription("Download this conversation's state and transcript")
            .addStringOption((option) => option
                .setName(EXPORT_FORMAT_OPTION)
                .setDescription("jsonl: only the transcript, in the model's training format (for fine-tuning)")
                .addChoices({name: "jsonl (transcript for fine-tuning)", value: "jsonl"})))
        .addSubcommand((sub) => sub
            .setName("import")
            .setDescription("Replace this conversation with an exported one")
            .addAttachmentOption((option) => option.setName(IMPORT_FILE_OPTION).setDescription("A file made by /rwkv export").setRequired(true)))
        .addSubcommand((sub) => sub.setName("status").setDescription("Show the model and this conversation's state"))
        .addSubcommand((sub) => sub
            .setName("settings")
            .setDescription("Show or change this conversation's settings")
            .addStringOption((option) => option.setName(SETTINGS_OPTION).setDescription("name=value pairs, e.g. temperature=0.8")))
        .addSubcommand((sub) => sub.setName("stop").setDescription("Stop the replies in progress here"))
        .addSubcommand((sub) => sub
            .setName("persona")
            .setDescription("Show, set or clear the priming text (setting it resets the conversation)")
            .addStringOption((option) => option.setName(PERSONA_OPTION).setDescription("The persona text, or off").setMaxLength(6000)))
        .toJSON();
}
