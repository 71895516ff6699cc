// `npm run db -- backup FILE`, `restore FILE` and `migrate-to postgres://…`: the database named by
// BRIDGEHEAD_DB (default ./data/bridgehead.db). A backup is safe while the portal runs; a restore
// needs it stopped; migrate-to copies one consistent snapshot (stop the portal to copy its last writes).
import fs from "node:fs";
import path from "node:path";
import { backupDatabase, restoreDatabase } from "./backup";
import { DEFAULT_DB_FILE, migrationsFolder, openDb } from "./index";
import { migrateTo } from "./migrate-to";
import { openPg, redact } from "./postgres";
import { isPostgresUrl } from "./url";

const USAGE = `usage: npm run db -- backup FILE    copy the database to FILE while the portal keeps running
       npm run db -- restore FILE   replace the database with the backup FILE (stop the portal first)
       npm run db -- migrate-to URL copy the database into the empty PostgreSQL database URL
                                    (postgres://user:password@host:5432/name) and verify the row counts
The database is BRIDGEHEAD_DB (default ${DEFAULT_DB_FILE}).`;

/** A path as the person typed it: npm runs scripts from the package root, INIT_CWD is where they were. */
const fromCaller = (p: string) => path.resolve(process.env.INIT_CWD ?? process.cwd(), p);

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(2)} MiB`;

async function main(argv: string[]): Promise<number> {
  const [command, file, ...rest] = argv;
  if (!command || command === "--help" || command === "-h") {
    console.log(USAGE);
    return command ? 0 : 1;
  }
  if (!file || rest.length > 0 || !["backup", "restore", "migrate-to"].includes(command)) {
    console.error(USAGE);
    return 1;
  }
  const db = fromCaller(process.env.BRIDGEHEAD_DB ?? DEFAULT_DB_FILE);
  if (command === "migrate-to") {
    if (!isPostgresUrl(file)) {
      console.error(`migrate-to: ${file} is not a PostgreSQL URL (postgres://user:password@host:5432/name)`);
      return 1;
    }
    if (!fs.existsSync(db)) {
      console.error(`migrate-to: ${db} does not exist (BRIDGEHEAD_DB names the SQLite database to copy)`);
      return 1;
    }
    const source = openDb(db);
    const target = await openPg(file, { max: 1 });
    try {
      const r = await migrateTo(source, target, file);
      for (const t of r.tables) console.log(`  ${t.name.padEnd(24)} ${String(t.rows).padStart(9)} rows`);
      console.log(
        `copied ${r.rows} rows in ${r.tables.length} tables from ${db} to ${redact(file)} in ${r.ms} ms; the row counts match. ${db} is unchanged and stays the database the portal runs on.`,
      );
      return 0;
    } finally {
      source.$client.close();
      await target.$client.end();
    }
  }
  if (command === "backup") {
    const r = await backupDatabase(db, fromCaller(file));
    console.log(
      `backed up ${db} to ${r.file}: ${r.pages} pages, ${mib(r.bytes)} in ${r.ms} ms; integrity ok, ${r.migrations} migrations applied`,
    );
    return 0;
  }
  const journal = JSON.parse(fs.readFileSync(path.join(migrationsFolder(), "meta", "_journal.json"), "utf8"));
  const r = restoreDatabase(fromCaller(file), db, journal.entries.length);
  console.log(
    `restored ${r.restored} from ${r.from} (integrity ok, ${r.migrations} migrations applied; the portal runs the rest on its next start)${r.previous ? `; the replaced database is kept as ${r.previous}` : ""}`,
  );
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
