// A throwaway copy of the project's Prisma setup whose migrations a test can
// add to or edit, so the real CLI runs against a changed migration history.
import fs from "node:fs/promises";
import path from "node:path";

export interface MigrationWorkdir {
  dir: string;
  migrationsDir: string;
  write(name: string, sql: string): Promise<void>;
  remove(): Promise<void>;
}

export async function createMigrationWorkdir(options: { copyMigrations: boolean }): Promise<MigrationWorkdir> {
  // Inside the checkout so the Prisma config resolves the project's packages.
  await fs.mkdir("test-artifacts", { recursive: true });
  const dir = await fs.mkdtemp(path.resolve("test-artifacts", "migrations-"));
  const migrationsDir = path.join(dir, "prisma", "migrations");
  if (options.copyMigrations) await fs.cp("prisma/migrations", migrationsDir, { recursive: true });
  else await fs.mkdir(migrationsDir, { recursive: true });
  await fs.writeFile(path.join(migrationsDir, "migration_lock.toml"), 'provider = "postgresql"\n');
  await fs.copyFile("prisma/schema.prisma", path.join(dir, "prisma", "schema.prisma"));
  await fs.writeFile(
    path.join(dir, "prisma.config.ts"),
    [
      'import { defineConfig } from "prisma/config";',
      `import { AtomicMigrationPrismaPg } from ${JSON.stringify(path.resolve("src/db/migrationAdapter.ts"))};`,
      "export default defineConfig({",
      '  experimental: { adapter: true }, engine: "js", schema: "prisma/schema.prisma",',
      '  migrations: { path: "prisma/migrations" },',
      "  adapter: async () => new AtomicMigrationPrismaPg({ connectionString: process.env.DATABASE_URL }),",
      "});",
    ].join("\n"),
  );
  return {
    dir,
    migrationsDir,
    async write(name, sql) {
      await fs.mkdir(path.join(migrationsDir, name), { recursive: true });
      await fs.writeFile(path.join(migrationsDir, name, "migration.sql"), sql);
    },
    remove: () => fs.rm(dir, { recursive: true, force: true }),
  };
}
