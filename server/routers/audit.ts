import { and, desc, eq, like, lt, type SQL } from "drizzle-orm";
import { z } from "zod";
import { auditLog } from "../../db/schema";
import { AUDIT_OUTCOMES } from "../../lib/domain";
import { adminProcedure, router } from "../trpc";

export const auditRouter = router({
  list: adminProcedure
    .input(
      z.object({
        actor: z.string().trim().max(100).optional(),
        action: z.string().trim().max(100).optional(),
        outcome: z.enum(AUDIT_OUTCOMES).optional(),
        before: z.number().int().optional(),
        limit: z.number().int().min(1).max(500).default(100),
      }),
    )
    .query(({ ctx, input }) => {
      const where: SQL[] = [];
      if (input.actor) where.push(eq(auditLog.actor, input.actor));
      if (input.action) where.push(like(auditLog.action, `${input.action}%`));
      if (input.outcome) where.push(eq(auditLog.outcome, input.outcome));
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
