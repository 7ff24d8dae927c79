// The layers of src/, bottom first, as code: a module imports only from its
// own layer or from layers below it, and nothing imports in a circle.
// `npm test` (its lint stage) fails on a violation and names the rule.
// docs/architecture.md draws the same picture.

/** Bottom to top. `path` is a regular expression on the file's path. */
const layers = [
  { name: "generated", path: "^src/generated/" },
  { name: "errors", path: "^src/errors\\.ts$" },
  { name: "config", path: "^src/config/" },
  { name: "observability", path: "^src/observability/" },
  { name: "db", path: "^src/(db/|db\\.ts$)" },
  { name: "validation", path: "^src/validation/" },
  { name: "llm", path: "^src/llm/" },
  { name: "context-budget", path: "^src/context-budget/" },
  { name: "metering", path: "^src/metering/" },
  { name: "settings", path: "^src/settings/" },
  { name: "credits", path: "^src/credits/" },
  { name: "usage", path: "^src/usage/" },
  { name: "gates", path: "^src/gates/" },
  { name: "turns", path: "^src/turns/" },
  { name: "auth", path: "^src/auth/" },
  { name: "embedded", path: "^src/embedded/" },
  { name: "runtime", path: "^src/(runtime\\.ts|lifecycle/)" },
  { name: "context", path: "^src/context\\.ts$" },
  { name: "resolvers", path: "^src/resolvers/" },
  { name: "schema", path: "^src/(builder\\.ts|schema/)" },
  { name: "http", path: "^src/(http/|yoga\\.ts$)" },
  { name: "entry points", path: "^src/(server\\.ts|cli/)" },
];

const engine = "^src/(turns|credits|metering|usage|llm|db|gates|context-budget)/";
const graphqlLayer = "^src/(schema/|resolvers/|http/|context\\.ts$|builder\\.ts$|yoga\\.ts$)";
const domain = "^src/(turns|credits|metering|usage|context-budget|gates|settings)/";

const layerRules = layers.slice(0, -1).map((layer, index) => ({
  name: `layer-${layer.name}-imports-only-lower-layers`,
  comment: `${layer.name} sits below ${layers.slice(index + 1).map((upper) => upper.name).join(", ")}: it may not import them.`,
  severity: "error",
  from: { path: layer.path },
  to: { path: layers.slice(index + 1).map((upper) => upper.path) },
}));

export default {
  forbidden: [
    { name: "no-circular", comment: "An import circle: split the shared part into a module both import.", severity: "error", from: { path: "^src/" }, to: { circular: true } },
    {
      name: "engine-knows-no-graphql",
      comment: "The engine takes plain arguments: it never imports the schema, the resolvers, the HTTP layer or the request context.",
      severity: "error",
      from: { path: engine },
      to: { path: graphqlLayer },
    },
    { name: "llm-and-db-know-no-domain", comment: "The gateway and the database helpers serve every domain and import none.", severity: "error", from: { path: "^src/(llm|db)/" }, to: { path: domain } },
    ...layerRules,
    {
      name: "every-src-file-in-a-layer",
      comment: "A new folder of src/ gets its place in the layers of .dependency-cruiser.mjs (and docs/architecture.md).",
      severity: "error",
      from: { path: "^src/", pathNot: layers.map((layer) => layer.path) },
      to: {},
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^src/generated/" },
    includeOnly: "^src/",
  },
};
