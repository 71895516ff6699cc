import { arAddInput, arResizeInput, idInput, rangeContextInput } from "../../lib/schemas";
import { addRange, removeRange, resizeRange, setRangeContext } from "../services/vnets/ranges";
import { actorOf, protectedProcedure, router } from "../trpc";

// MANAGE on the VNET is checked in each service's query (admins hold it on everything).
export const rangeRouter = router({
  add: protectedProcedure
    .input(arAddInput)
    .mutation(({ ctx, input }) => addRange(ctx.app, actorOf(ctx), ctx.user, input.vnetId, input.range)),
  resize: protectedProcedure
    .input(arResizeInput)
    .mutation(({ ctx, input }) => resizeRange(ctx.app, actorOf(ctx), ctx.user, input.id, input.size)),
  remove: protectedProcedure
    .input(idInput)
    .mutation(({ ctx, input }) => removeRange(ctx.app, actorOf(ctx), ctx.user, input.id)),
  setContext: protectedProcedure
    .input(rangeContextInput)
    .mutation(({ ctx, input }) => setRangeContext(ctx.app, actorOf(ctx), ctx.user, input.id, input.context)),
});
