import { z } from "zod";
import { holdInput, leaseHistoryInput, spanInput } from "../../lib/schemas";
import { history, hold, listLeases, release } from "../services/leases";
import { actorOf, protectedProcedure, router } from "../trpc";

export const leaseRouter = router({
  list: protectedProcedure
    .input(z.object({ vnetId: z.number().int() }))
    .query(({ ctx, input }) => listLeases(ctx.app, ctx.user, input.vnetId)),
  hold: protectedProcedure
    .input(holdInput)
    .mutation(({ ctx, input }) => hold(ctx.app, actorOf(ctx), ctx.user, input)),
  release: protectedProcedure
    .input(spanInput)
    .mutation(({ ctx, input }) => release(ctx.app, actorOf(ctx), ctx.user, input)),
  history: protectedProcedure
    .input(leaseHistoryInput)
    .query(({ ctx, input }) => history(ctx.app, ctx.user, input)),
});
