import {PermissionFlagsBits} from "discord.js";

const ADMIN_BITS = PermissionFlagsBits.Administrator | PermissionFlagsBits.ManageGuild;

/**
 * Whether server-wide permission bits make their holder an admin of the bot: Administrator
 * or Manage Server. Null (no server) is not an admin.
 */
export function hasAdminPermission(permissions: bigint | null): boolean {
    return permissions !== null && (permissions & ADMIN_BITS) !== 0n;
}
