import { holdInput, leaseHistoryInput, leaseListInput, spanInput } from "../../lib/schemas";
import { history, hold, listLeases, release } from "../services/leases/leases";
import { actorOf, protectedProcedure, router } from "../trpc";

export const leaseRouter = router({
  /** A window of the VNET's addresses (all, used, held or free), searchable. */
  list: protectedProcedure
    .input(leaseListInput)
    .query(({ ctx, input }) => listLeases(ctx.app, ctx.user, input)),
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
