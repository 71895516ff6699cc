// `npm run db -- backup FILE` and `npm run db -- restore FILE`: the database named by BRIDGEHEAD_DB
// (default ./data/bridgehead.db). A backup is safe while the portal runs; a restore needs it stopped.
import fs from "node:fs";
import path from "node:path";
import { backupDatabase, restoreDatabase } from "./backup";
import { DEFAULT_DB_FILE, migrationsFolder } from "./index";

const USAGE = `usage: npm run db -- backup FILE    copy the database to FILE while the portal keeps running
       npm run db -- restore FILE   replace the database with the backup FILE (stop the portal first)
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
  if (!file || rest.length > 0 || (command !== "backup" && command !== "restore")) {
    console.error(USAGE);
    return 1;
  }
  const db = fromCaller(process.env.BRIDGEHEAD_DB ?? DEFAULT_DB_FILE);
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
