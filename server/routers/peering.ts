// VNET peerings: list (per VNET or all the caller sees), create, accept, remove. Permissions on
// both VNETs are checked in each service's query.
import { peeringCreateInput, peeringIdInput, peeringListInput } from "../../lib/peering";
import { acceptPeering, createPeering, listPeerings, removePeering } from "../services/vnets/peerings";
import { actorOf, protectedProcedure, router } from "../trpc";

export const peeringRouter = router({
  list: protectedProcedure
    .input(peeringListInput)
    .query(({ ctx, input }) => listPeerings(ctx.app, ctx.user, input?.vnetId)),
  create: protectedProcedure
    .input(peeringCreateInput)
    .mutation(({ ctx, input }) => createPeering(ctx.app, actorOf(ctx), ctx.user, input)),
  accept: protectedProcedure
    .input(peeringIdInput)
    .mutation(({ ctx, input }) => acceptPeering(ctx.app, actorOf(ctx), ctx.user, input.id)),
  remove: protectedProcedure
    .input(peeringIdInput)
    .mutation(({ ctx, input }) => removePeering(ctx.app, actorOf(ctx), ctx.user, input.id)),
});
