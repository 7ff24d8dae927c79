// Typed documents (client preset) generated from the committed schema: the operations under
// test/operations for the tests (test/generated), and those under examples for the example client
// (examples/generated). Each target names its own documents: documents at the top level would be
// added to every target.
import type { CodegenConfig } from "@graphql-codegen/cli";
// The preset object, not its name: the CLI carries a client-preset of its own, and a name would resolve
// to whichever copy the caller's module resolution finds first (the CLI's or this project's).
import { preset as clientPreset } from "@graphql-codegen/client-preset";

const clientTarget = (documents: string[]) => ({
  documents,
  // The CLI's own type for presets comes from its copy of the plugin helpers; the shape is the same.
  preset: clientPreset as never,
  presetConfig: { fragmentMasking: false },
  config: {
    enumsAsTypes: true,
    useTypeImports: true,
    scalars: { DateTime: "string", Decimal: "string", JSON: "unknown" },
  },
});

const config: CodegenConfig = {
  schema: "schema.graphql",
  ignoreNoDocuments: true,
  generates: {
    "test/generated/": clientTarget(["test/operations/**/*.graphql"]),
    "examples/generated/": clientTarget(["examples/*.graphql"]),
  },
};

export default config;
