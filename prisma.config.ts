// Prisma CLI configuration. The wasm schema engine plus the pg driver adapter
// keep every CLI command offline (see README, "Toolchain").
import path from "node:path";
import { defineConfig } from "prisma/config";
import { AtomicMigrationPrismaPg } from "./src/db/migrationAdapter.ts";

// The CLI resolves env("DATABASE_URL") before it reads `engineType`, and when it
// cannot, it falls back to downloading a native engine; `migrate diff` also
// builds the adapter without connecting. So commands that never connect get a
// placeholder whose host names the problem if something does try to reach it.
// An empty value (as .env.example writes it) counts as unset.
if (!process.env.DATABASE_URL) process.env.DATABASE_URL = "postgresql://database-url-is-not-set.invalid/unset";

export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  schema: path.join("prisma", "schema.prisma"),
  migrations: { path: path.join("prisma", "migrations") },
  async adapter() {
    return new AtomicMigrationPrismaPg({ connectionString: process.env.DATABASE_URL });
  },
});
