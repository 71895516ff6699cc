import { idInput, vnetCreateInput } from "../../lib/schemas";
import { createVnet, getVnet, listVnets, removeVnet } from "../services/vnets";
import { actorOf, adminProcedure, protectedProcedure, router } from "../trpc";

export const vnetRouter = router({
  list: protectedProcedure.query(({ ctx }) => listVnets(ctx.app, ctx.user)),
  get: protectedProcedure.input(idInput).query(({ ctx, input }) => getVnet(ctx.app, ctx.user, input.id)),
  create: adminProcedure
    .input(vnetCreateInput)
    .mutation(({ ctx, input }) => createVnet(ctx.app, actorOf(ctx), ctx.user, input)),
  remove: adminProcedure
    .input(idInput)
    .mutation(({ ctx, input }) => removeVnet(ctx.app, actorOf(ctx), ctx.user, input.id)),
});
