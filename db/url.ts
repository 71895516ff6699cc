// What kind of database a BRIDGEHEAD_DB value names (no driver imported: server/env.ts uses it).

/** Whether the value is a PostgreSQL connection URL rather than a SQLite file. */
export const isPostgresUrl = (s: string) => /^postgres(ql)?:\/\//.test(s);
