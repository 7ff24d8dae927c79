// Prints every credit function's definition (src/credits/sql/), in dependency
// order, for a migration that changes any of them to include.
import { CREDIT_SQL_FUNCTIONS, creditSqlSource } from "../src/credits/sqlFunctions.ts";

for (const { name } of CREDIT_SQL_FUNCTIONS) process.stdout.write(`${await creditSqlSource(name)}\n`);
