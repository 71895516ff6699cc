// Authorization in the query, so a row the caller may not see is never read, counted or
// leaked by a later filter: a WHERE fragment that keeps only the rows the caller may see at a level. Zero rows → NOT_FOUND, never a hint that the object exists.
import { type SQL, sql } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import { LEVEL_BIT, type Level, type Subject } from "../lib/permissions";

type OwnedColumns = { ownerId: SQLiteColumn; groupId: SQLiteColumn; perms: SQLiteColumn };

/** SQL condition: `who` holds `level` on the row (mirrors lib/permissions `can`). */
export function permitted(t: OwnedColumns, who: Subject, level: Level): SQL {
  if (who.role === "admin") return sql`1 = 1`;
  const bit = LEVEL_BIT[level];
  const groups = who.groupIds.length ? who.groupIds : [-1];
  return sql`((${t.ownerId} = ${who.id} AND ((${t.perms} >> 6) & ${bit}) != 0)
    OR (${t.groupId} IN ${groups} AND ((${t.perms} >> 3) & ${bit}) != 0)
    OR ((${t.perms} & ${bit}) != 0))`;
}
