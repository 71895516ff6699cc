import { z } from "zod";
import { QUOTA_SUBJECTS } from "../../lib/domain";
import { quotaSetInput } from "../../lib/tenancy";
import { quotaOf, setQuota } from "../services/quotas";
import { actorOf, adminProcedure, protectedProcedure, router } from "../trpc";

export const quotaRouter = router({
  /** The caller's own quota and usage (the self-service page shows it). */
  mine: protectedProcedure.query(({ ctx }) => ({
    user: quotaOf(ctx.app, { type: "user", id: ctx.user.id }),
    group: quotaOf(ctx.app, { type: "group", id: String(ctx.user.primaryGroupId) }),
  })),
  get: adminProcedure
    .input(z.object({ subjectType: z.enum(QUOTA_SUBJECTS), subjectId: z.string().min(1) }))
    .query(({ ctx, input }) => quotaOf(ctx.app, { type: input.subjectType, id: input.subjectId })),
  set: adminProcedure
    .input(quotaSetInput)
    .mutation(({ ctx, input }) => setQuota(ctx.app, actorOf(ctx), input)),
});
