import { idInput, instanceCreateInput } from "../../lib/schemas";
import { createInstance, listInstances, removeInstance } from "../services/instances";
import { actorOf, protectedProcedure, router } from "../trpc";

export const instanceRouter = router({
  list: protectedProcedure.query(({ ctx }) => listInstances(ctx.app, ctx.user)),
  create: protectedProcedure
    .input(instanceCreateInput)
    .mutation(({ ctx, input }) => createInstance(ctx.app, actorOf(ctx), ctx.user, input)),
  remove: protectedProcedure
    .input(idInput)
    .mutation(({ ctx, input }) => removeInstance(ctx.app, actorOf(ctx), ctx.user, input.id)),
});
