// Security groups: list/get for anyone who may USE a group, create for any signed-in user (they own
// it), update/remove with MANAGE, attach/detach with MANAGE on the VNET, explain with USE.
import { z } from "zod";
import { idInput } from "../../lib/schemas";
import { probeInput, sgInput } from "../../lib/sg";
import { cloneInput } from "../../lib/tenancy";
import {
  commitSg,
  createSg,
  getSg,
  listSgs,
  removeSg,
  setNicSg,
  setVnetSg,
  updateSg,
  vnetSgs,
} from "../services/security-groups/security-groups";
import { sgCounters } from "../services/security-groups/sg-counters";
import { nicNftScript } from "../services/security-groups/sg-nft-preview";
import { cloneSg } from "../services/security-groups/sg-tenancy";
import { explainNic, previewNic } from "../services/security-groups/sg-tools";
import { actorOf, protectedProcedure, router } from "../trpc";
import { ownershipProcedures } from "./ownership";

const id = z.coerce.number().int().nonnegative();

export const sgRouter = router({
  list: protectedProcedure.query(({ ctx }) => listSgs(ctx.app, ctx.user)),
  get: protectedProcedure.input(idInput).query(({ ctx, input }) => getSg(ctx.app, ctx.user, input.id)),
  /** Groups attached to one VNET (`id` is the VNET's). */
  ofVnet: protectedProcedure.input(idInput).query(({ ctx, input }) => vnetSgs(ctx.app, ctx.user, input.id)),
  create: protectedProcedure
    .input(sgInput)
    .mutation(({ ctx, input }) => createSg(ctx.app, actorOf(ctx), ctx.user, input)),
  update: protectedProcedure
    .input(sgInput.extend({ id }))
    .mutation(({ ctx, input }) => updateSg(ctx.app, actorOf(ctx), ctx.user, input)),
  remove: protectedProcedure
    .input(idInput)
    .mutation(({ ctx, input }) => removeSg(ctx.app, actorOf(ctx), ctx.user, input.id)),
  setVnet: protectedProcedure
    .input(z.object({ vnetId: id, sgId: id, attached: z.boolean() }))
    .mutation(({ ctx, input }) => setVnetSg(ctx.app, actorOf(ctx), ctx.user, input)),
  setNic: protectedProcedure
    .input(z.object({ nicId: id, sgId: id, attached: z.boolean() }))
    .mutation(({ ctx, input }) => setNicSg(ctx.app, actorOf(ctx), ctx.user, input)),
  commit: protectedProcedure
    .input(idInput)
    .mutation(({ ctx, input }) => commitSg(ctx.app, actorOf(ctx), ctx.user, input.id)),
  /** The compiled policy of one NIC (every group on it), as the node renders it. */
  preview: protectedProcedure.input(z.object({ nicId: id })).query(({ ctx, input }) => {
    const listing = previewNic(ctx.app, ctx.user, input.nicId);
    // The exact text the agent's renderer produces for this NIC alone.
    return { ...listing, nft: nicNftScript(ctx.app, input.nicId) };
  }),
  /** Each rule's hits and bytes, summed over the nodes that reported them (USE on the group). */
  counters: protectedProcedure
    .input(idInput)
    .query(({ ctx, input }) => sgCounters(ctx.app, ctx.user, input.id)),
  explain: protectedProcedure.input(probeInput).query(({ ctx, input }) => {
    const { nicId, ...probe } = input;
    return explainNic(ctx.app, ctx.user, { nicId, probe });
  }),
  // Tenancy (issue 6): ownership, locks, rename and clone.
  ...ownershipProcedures("sg"),
  clone: protectedProcedure
    .input(cloneInput)
    .mutation(({ ctx, input }) => cloneSg(ctx.app, actorOf(ctx), ctx.user, input.id, input.name)),
});
