import { idInput, instanceCreateInput, nicAddInput, nicRemoveInput, nicUpdateInput } from "../../lib/schemas";
import { anyOut, instanceListOut, instanceOut, instanceSeedOut, rest } from "../rest/meta";
import { createInstance, getInstance, listInstances, removeInstance } from "../services/instances/instances";
import { addNic, removeNic, updateNic } from "../services/instances/nic-hotplug";
import { instanceSeed, rotateSeed } from "../services/instances/seed";
import { actorOf, protectedProcedure, router } from "../trpc";

export const instanceRouter = router({
  list: protectedProcedure
    .meta(rest("GET", "/instances", "instances", "Instances and their NICs", instanceListOut))
    .query(({ ctx }) => listInstances(ctx.app, ctx.user)),
  get: protectedProcedure
    .meta(
      rest(
        "GET",
        "/instances/{id}",
        "instances",
        "One instance, its NICs and their port state on the node",
        instanceOut,
      ),
    )
    .input(idInput)
    .query(({ ctx, input }) => getInstance(ctx.app, ctx.user, input.id)),
  create: protectedProcedure
    .meta(rest("POST", "/instances", "instances", "Create an instance with NICs", instanceOut))
    .input(instanceCreateInput)
    .mutation(({ ctx, input }) => createInstance(ctx.app, actorOf(ctx), ctx.user, input)),
  remove: protectedProcedure
    .meta(rest("DELETE", "/instances/{id}", "instances", "Delete an instance (its leases are freed)", anyOut))
    .input(idInput)
    .mutation(({ ctx, input }) => removeInstance(ctx.app, actorOf(ctx), ctx.user, input.id)),
  /** NIC hot-plug: the node applies each change live. */
  addNic: protectedProcedure
    .meta(rest("POST", "/instances/{instanceId}/nics", "nics", "Hot-plug a NIC into an instance", anyOut))
    .input(nicAddInput)
    .mutation(({ ctx, input }) => addNic(ctx.app, actorOf(ctx), ctx.user, input)),
  updateNic: protectedProcedure
    .meta(rest("PATCH", "/nics/{nicId}", "nics", "Move a NIC to another VNET or address, live", anyOut))
    .input(nicUpdateInput)
    .mutation(({ ctx, input }) => updateNic(ctx.app, actorOf(ctx), ctx.user, input)),
  removeNic: protectedProcedure
    .meta(rest("DELETE", "/nics/{nicId}", "nics", "Unplug a NIC (its lease is freed)", anyOut))
    .input(nicRemoveInput)
    .mutation(({ ctx, input }) => removeNic(ctx.app, actorOf(ctx), ctx.user, input.nicId)),
  /** The cloud-init NoCloud seed URL (path) and the documents a guest gets from it. */
  seed: protectedProcedure
    .meta(
      rest(
        "GET",
        "/instances/{id}/seed",
        "instances",
        "The instance's cloud-init seed URL and documents",
        instanceSeedOut,
      ),
    )
    .input(idInput)
    .query(({ ctx, input }) => instanceSeed(ctx.app, ctx.user, input.id)),
  /** Retires the seed URL and issues a new one (audited). */
  rotateSeed: protectedProcedure
    .meta(
      rest(
        "POST",
        "/instances/{id}/seed/rotate",
        "instances",
        "Rotate the instance's seed URL (the old one stops answering)",
        anyOut,
      ),
    )
    .input(idInput)
    .mutation(({ ctx, input }) => rotateSeed(ctx.app, actorOf(ctx), ctx.user, input.id)),
});
