import { idInput } from "../../lib/schemas";
import { groupInput, groupUpdateInput } from "../../lib/tenancy";
import { createGroup, listGroups, removeGroup, updateGroup } from "../services/users";
import { actorOf, adminProcedure, router } from "../trpc";

export const groupRouter = router({
  list: adminProcedure.query(({ ctx }) => listGroups(ctx.app)),
  create: adminProcedure
    .input(groupInput)
    .mutation(({ ctx, input }) => createGroup(ctx.app, actorOf(ctx), input)),
  update: adminProcedure
    .input(groupUpdateInput)
    .mutation(({ ctx, input }) => updateGroup(ctx.app, actorOf(ctx), input)),
  remove: adminProcedure
    .input(idInput)
    .mutation(({ ctx, input }) => removeGroup(ctx.app, actorOf(ctx), input.id)),
});
