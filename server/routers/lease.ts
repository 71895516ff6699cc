import { holdInput, leaseHistoryInput, leaseListInput, spanInput } from "../../lib/schemas";
import { heldOut, leaseHistoryOut, leaseListOut, releasedOut, rest } from "../rest/meta";
import { history, hold, listLeases, release } from "../services/leases/leases";
import { actorOf, protectedProcedure, router } from "../trpc";

export const leaseRouter = router({
  /** A window of the VNET's addresses (all, used, held or free), searchable. */
  list: protectedProcedure
    .meta(rest("GET", "/vnets/{vnetId}/leases", "leases", "A window of the VNET's addresses", leaseListOut))
    .input(leaseListInput)
    .query(({ ctx, input }) => listLeases(ctx.app, ctx.user, input)),
  hold: protectedProcedure
    .meta(rest("POST", "/vnets/{vnetId}/leases/hold", "leases", "Hold an address or a span", heldOut))
    .input(holdInput)
    .mutation(({ ctx, input }) => hold(ctx.app, actorOf(ctx), ctx.user, input)),
  release: protectedProcedure
    .meta(rest("POST", "/vnets/{vnetId}/leases/release", "leases", "Release held addresses", releasedOut))
    .input(spanInput)
    .mutation(({ ctx, input }) => release(ctx.app, actorOf(ctx), ctx.user, input)),
  history: protectedProcedure
    .meta(
      rest("GET", "/vnets/{vnetId}/leases/history", "leases", "Who had an address, when", leaseHistoryOut),
    )
    .input(leaseHistoryInput)
    .query(({ ctx, input }) => history(ctx.app, ctx.user, input)),
});
