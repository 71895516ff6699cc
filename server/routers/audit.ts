import { and, desc, eq, gte, like, lt, lte, or, type SQL } from "drizzle-orm";
import { auditLog } from "../../db/schema";
import { auditListInput } from "../../lib/tenancy";
import { auditListOut, rest } from "../rest/meta";
import { adminProcedure, router } from "../trpc";

export const auditRouter = router({
  /** Newest first, filtered by actor, action prefix, outcome, object (type, id or name) and time. */
  list: adminProcedure
    .meta(rest("GET", "/audit", "audit", "The audit log, newest first, filtered", auditListOut))
    .input(auditListInput)
    .query(({ ctx, input }) => {
      const where: SQL[] = [];
      if (input.actor) where.push(eq(auditLog.actor, input.actor));
      if (input.action) where.push(like(auditLog.action, `${input.action}%`));
      if (input.outcome) where.push(eq(auditLog.outcome, input.outcome));
      if (input.objectType) where.push(eq(auditLog.objectType, input.objectType));
      if (input.object)
        where.push(or(eq(auditLog.objectId, input.object), eq(auditLog.objectName, input.object))!);
      if (input.from) where.push(gte(auditLog.at, input.from));
      if (input.to) where.push(lte(auditLog.at, input.to));
      if (input.before) where.push(lt(auditLog.id, input.before));
      const rows = ctx.db
        .select()
        .from(auditLog)
        .where(and(...where))
        .orderBy(desc(auditLog.id))
        .limit(input.limit + 1)
        .all();
      const more = rows.length > input.limit;
      return { rows: rows.slice(0, input.limit), nextBefore: more ? rows[input.limit - 1]!.id : null };
    }),
});
