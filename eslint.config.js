// Lint is part of `npm test`. typescript-eslint's recommended rules, no
// type-aware rules (tsc --noEmit already type-checks).
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
    {ignores: ["node_modules/", "build/", "generated/", ".data/", "coverage/"]},
    js.configs.recommended,
    ...tseslint.configs.recommended,
    {
        rules: {
            "@typescript-eslint/no-unused-vars": ["error", {argsIgnorePattern: "^_", varsIgnorePattern: "^_"}],
            "@typescript-eslint/consistent-type-imports": "error",
            "eqeqeq": ["error", "smart"],
            "no-console": "off",
        },
    },
    {
        files: ["**/*.js", "**/*.mjs"],
        languageOptions: {globals: {process: "readonly", console: "readonly"}},
    },
    {
        files: ["**/*.cjs"],
        languageOptions: {sourceType: "commonjs", globals: {module: "writable", require: "readonly"}},
    },
);
