import { arAddInput, arResizeInput, idInput, rangeContextInput } from "../../lib/schemas";
import { anyOut, rangeAddOut, rangeResizeOut, rest } from "../rest/meta";
import { addRange, removeRange, resizeRange, setRangeContext } from "../services/vnets/ranges";
import { actorOf, protectedProcedure, router } from "../trpc";

// MANAGE on the VNET is checked in each service's query (admins hold it on everything).
export const rangeRouter = router({
  add: protectedProcedure
    .meta(rest("POST", "/vnets/{vnetId}/ranges", "ranges", "Add an address range to a VNET", rangeAddOut))
    .input(arAddInput)
    .mutation(({ ctx, input }) =>
      addRange(ctx.app, actorOf(ctx), ctx.user, input.vnetId, input.range, input.allowOverlap),
    ),
  resize: protectedProcedure
    .meta(rest("PATCH", "/ranges/{id}", "ranges", "Resize an address range", rangeResizeOut))
    .input(arResizeInput)
    .mutation(({ ctx, input }) =>
      resizeRange(ctx.app, actorOf(ctx), ctx.user, input.id, input.size, input.allowOverlap),
    ),
  remove: protectedProcedure
    .meta(
      rest(
        "DELETE",
        "/ranges/{id}",
        "ranges",
        "Remove an address range (refused while it has used leases)",
        anyOut,
      ),
    )
    .input(idInput)
    .mutation(({ ctx, input }) => removeRange(ctx.app, actorOf(ctx), ctx.user, input.id)),
  setContext: protectedProcedure
    .input(rangeContextInput)
    .mutation(({ ctx, input }) => setRangeContext(ctx.app, actorOf(ctx), ctx.user, input.id, input.context)),
});
