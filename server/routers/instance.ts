import { idInput, instanceCreateInput, nicAddInput, nicRemoveInput, nicUpdateInput } from "../../lib/schemas";
import { createInstance, listInstances, removeInstance } from "../services/instances/instances";
import { addNic, removeNic, updateNic } from "../services/instances/nic-hotplug";
import { actorOf, protectedProcedure, router } from "../trpc";

export const instanceRouter = router({
  list: protectedProcedure.query(({ ctx }) => listInstances(ctx.app, ctx.user)),
  create: protectedProcedure
    .input(instanceCreateInput)
    .mutation(({ ctx, input }) => createInstance(ctx.app, actorOf(ctx), ctx.user, input)),
  remove: protectedProcedure
    .input(idInput)
    .mutation(({ ctx, input }) => removeInstance(ctx.app, actorOf(ctx), ctx.user, input.id)),
  /** NIC hot-plug: the node applies each change live. */
  addNic: protectedProcedure
    .input(nicAddInput)
    .mutation(({ ctx, input }) => addNic(ctx.app, actorOf(ctx), ctx.user, input)),
  updateNic: protectedProcedure
    .input(nicUpdateInput)
    .mutation(({ ctx, input }) => updateNic(ctx.app, actorOf(ctx), ctx.user, input)),
  removeNic: protectedProcedure
    .input(nicRemoveInput)
    .mutation(({ ctx, input }) => removeNic(ctx.app, actorOf(ctx), ctx.user, input.nicId)),
});
