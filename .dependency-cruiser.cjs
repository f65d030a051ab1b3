// The import-direction check of `npm test` (`npm run lint:imports`). The layers, lowest first:
// each may import itself and the layers listed in `may`, nothing above. docs/architecture.md
// draws the same picture; change both together.
const layers = [
    {name: "errors", path: "^src/errors/", may: []},
    {name: "core", path: "^src/core/", may: ["errors"]},
    {name: "bindings", path: "^src/bindings/", may: ["errors", "core"]},
    {name: "inference", path: "^src/inference/", may: ["errors", "core", "bindings"]},
    {name: "store", path: "^src/store/", may: ["errors", "core"]},
    {name: "session", path: "^src/session/", may: ["errors", "core", "inference", "store"]},
    {name: "scheduler", path: "^src/scheduler/", may: ["errors", "core", "inference", "store", "session"]},
    {name: "commands", path: "^src/commands/", may: ["errors", "core", "inference", "store", "session", "scheduler"]},
    // The operator's side: the logger, the Prometheus definitions and the ops endpoint, over the core's contracts.
    {name: "ops", path: "^src/ops/", may: ["errors", "core"]},
    // Routing between bot processes sees the contracts only: turns, sinks, and callbacks the composition gives it.
    {name: "cluster", path: "^src/cluster/", may: ["errors", "core"]},
    // Adapters see the contracts only: the core never sees a platform type, and no platform another's.
    {name: "adapters-shared", path: "^adapters/shared/", may: ["errors", "core"]},
    {name: "adapter", path: "^adapters/(?!shared/)[^/]+/", may: ["errors", "core", "adapters-shared"]},
    {name: "adapter-registry", path: "^adapters/[^/]+\\.ts$", may: ["errors", "core", "adapters-shared", "adapter"]},
    // The composition: config and app build everything below from the environment.
    {name: "compose", path: "^src/(app|config)/", may: ["errors", "core", "bindings", "inference", "store", "session", "scheduler", "commands", "cluster", "ops", "adapters-shared", "adapter", "adapter-registry"]},
    {name: "entry", path: "^src/(cli/|main\\.ts$)", may: ["errors", "core", "bindings", "inference", "store", "session", "scheduler", "commands", "cluster", "ops", "adapters-shared", "adapter", "adapter-registry", "compose"]},
    // Test and benchmark tools (the .pth writer): only the error classes.
    {name: "tools", path: "^tools/", may: ["errors"]},
];

const byName = new Map(layers.map((layer) => [layer.name, layer]));
const layerRules = layers.map((layer) => ({
    name: `layer-${layer.name}`,
    comment: `${layer.name} may import only ${[layer.name, ...layer.may].join(", ")} (docs/architecture.md § Layers)`,
    severity: "error",
    from: {path: layer.path},
    to: {
        path: "^(src|adapters|tools)/",
        pathNot: [layer.path, ...layer.may.map((name) => byName.get(name).path)],
    },
}));

module.exports = {
    forbidden: [
        ...layerRules,
        {
            name: "adapter-own-folder",
            comment: "a platform adapter imports no other platform's folder",
            severity: "error",
            from: {path: "^adapters/([^/]+)/"},
            to: {path: "^adapters/(?!shared/)[^/]+/", pathNot: "^adapters/$1/"},
        },
        {
            name: "no-circular",
            comment: "no import cycles, type-only imports included",
            severity: "error",
            from: {},
            to: {circular: true},
        },
        {
            name: "platform-sdks-in-adapters",
            comment: "discord.js and @slack/bolt are imported only by adapters",
            severity: "error",
            from: {pathNot: "^(adapters|test)/"},
            to: {path: "node_modules/(discord\\.js|@discordjs|@slack)/"},
        },
        {
            name: "prisma-in-store",
            comment: "the store is the only code that touches Prisma",
            severity: "error",
            from: {pathNot: "^(src/store|scripts|test|prisma\\.config\\.ts)"},
            to: {path: "^generated/prisma|node_modules/@prisma/"},
        },
        {
            name: "not-to-unresolvable",
            comment: "every import resolves",
            severity: "error",
            from: {},
            to: {couldNotResolve: true},
        },
    ],
    options: {
        doNotFollow: {path: "node_modules"},
        exclude: {path: "^(generated|build|node_modules)/"},
        tsPreCompilationDeps: true,
        tsConfig: {fileName: "tsconfig.json"},
        enhancedResolveOptions: {exportsFields: ["exports"], conditionNames: ["import", "require", "node", "default", "types"], mainFields: ["module", "main", "types"]},
    },
};
