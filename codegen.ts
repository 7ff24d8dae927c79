// Typed documents (client preset) generated from the committed schema and the
// operations under test/operations; tests import them from test/generated.
import type { CodegenConfig } from "@graphql-codegen/cli";
// The preset object, not its name: the CLI carries a client-preset of its own, and a name would resolve
// to whichever copy the caller's module resolution finds first (the CLI's or this project's).
import { preset as clientPreset } from "@graphql-codegen/client-preset";

const config: CodegenConfig = {
  schema: "schema.graphql",
  documents: ["test/operations/**/*.graphql"],
  ignoreNoDocuments: true,
  generates: {
    "test/generated/": {
      // The CLI's own type for presets comes from its copy of the plugin helpers; the shape is the same.
      preset: clientPreset as never,
      presetConfig: { fragmentMasking: false },
      config: {
        enumsAsTypes: true,
        useTypeImports: true,
        scalars: { DateTime: "string", Decimal: "string", JSON: "unknown" },
      },
    },
  },
};

export default config;
