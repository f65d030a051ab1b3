import {PermissionFlagsBits, PermissionsBitField} from "discord.js";
import {describe, expect, it} from "vitest";
import {hasAdminPermission} from "../../../adapters/discord/hasAdminPermission.ts";

describe("hasAdminPermission", () => {
    it("accepts Administrator and Manage Server, alone or with other bits", () => {
        expect(hasAdminPermission(PermissionFlagsBits.Administrator)).toBe(true);
        expect(hasAdminPermission(PermissionFlagsBits.ManageGuild)).toBe(true);
        expect(hasAdminPermission(PermissionsBitField.All)).toBe(true);
        expect(hasAdminPermission(PermissionFlagsBits.SendMessages | PermissionFlagsBits.ManageGuild)).toBe(true);
    });

    it("refuses every other permission, and no server at all", () => {
        const others = PermissionsBitField.All & ~(PermissionFlagsBits.Administrator | PermissionFlagsBits.ManageGuild);
        expect(hasAdminPermission(others)).toBe(false);
        expect(hasAdminPermission(0n)).toBe(false);
        expect(hasAdminPermission(null)).toBe(false);
    });
});
