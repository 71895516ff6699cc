// Security groups: list/get for anyone who may USE a group, create for any signed-in user (they own
// it), update/remove with MANAGE, attach/detach with MANAGE on the VNET, explain (one NIC, or A→B) with USE.
import { z } from "zod";
import { idInput } from "../../lib/schemas";
import { pathProbeInput, probeInput, sgInput } from "../../lib/sg";
import { cloneInput } from "../../lib/tenancy";
import { anyOut, changedOut, idOut, rest, sgListOut, sgOut } from "../rest/meta";
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
import { explainNic, explainNicPath, previewNic } from "../services/security-groups/sg-tools";
import { actorOf, protectedProcedure, router } from "../trpc";
import { ownershipProcedures } from "./ownership";

const id = z.coerce.number().int().nonnegative();

export const sgRouter = router({
  list: protectedProcedure
    .meta(rest("GET", "/security-groups", "security-groups", "Security groups the caller may use", sgListOut))
    .query(({ ctx }) => listSgs(ctx.app, ctx.user)),
  get: protectedProcedure
    .meta(rest("GET", "/security-groups/{id}", "security-groups", "One security group with its rules", sgOut))
    .input(idInput)
    .query(({ ctx, input }) => getSg(ctx.app, ctx.user, input.id)),
  /** Groups attached to one VNET (`id` is the VNET's). */
  ofVnet: protectedProcedure.input(idInput).query(({ ctx, input }) => vnetSgs(ctx.app, ctx.user, input.id)),
  create: protectedProcedure
    .meta(rest("POST", "/security-groups", "security-groups", "Create a security group", idOut))
    .input(sgInput)
    .mutation(({ ctx, input }) => createSg(ctx.app, actorOf(ctx), ctx.user, input)),
  update: protectedProcedure
    .meta(
      rest(
        "PUT",
        "/security-groups/{id}",
        "security-groups",
        "Replace a group's name, description and rules",
        idOut,
      ),
    )
    .input(sgInput.extend({ id }))
    .mutation(({ ctx, input }) => updateSg(ctx.app, actorOf(ctx), ctx.user, input)),
  remove: protectedProcedure
    .meta(rest("DELETE", "/security-groups/{id}", "security-groups", "Delete a security group", anyOut))
    .input(idInput)
    .mutation(({ ctx, input }) => removeSg(ctx.app, actorOf(ctx), ctx.user, input.id)),
  setVnet: protectedProcedure
    .meta(
      rest(
        "POST",
        "/security-groups/{sgId}/vnets/{vnetId}",
        "security-groups",
        "Attach (attached: true) or detach a group on a VNET",
        changedOut,
      ),
    )
    .input(z.object({ vnetId: id, sgId: id, attached: z.boolean() }))
    .mutation(({ ctx, input }) => setVnetSg(ctx.app, actorOf(ctx), ctx.user, input)),
  setNic: protectedProcedure
    .meta(
      rest(
        "POST",
        "/security-groups/{sgId}/nics/{nicId}",
        "security-groups",
        "Attach or detach a group on one NIC",
        changedOut,
      ),
    )
    .input(z.object({ nicId: id, sgId: id, attached: z.boolean() }))
    .mutation(({ ctx, input }) => setNicSg(ctx.app, actorOf(ctx), ctx.user, input)),
  commit: protectedProcedure
    .meta(
      rest(
        "POST",
        "/security-groups/{id}/commit",
        "security-groups",
        "Re-push the group to outdated NICs",
        anyOut,
      ),
    )
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
  explain: protectedProcedure
    .meta(
      rest(
        "GET",
        "/nics/{nicId}/explain",
        "security-groups",
        "Which rule decides a connection on a NIC",
        anyOut,
      ),
    )
    .input(probeInput)
    .query(({ ctx, input }) => {
      const { nicId, ...probe } = input;
      return explainNic(ctx.app, ctx.user, { nicId, probe });
    }),
  /** Explain A→B: every check a connection from one NIC to another NIC or an address meets. */
  explainPath: protectedProcedure
    .meta(
      rest(
        "GET",
        "/nics/{fromNicId}/explain-path",
        "security-groups",
        "Which check decides a connection from one NIC to another NIC or address",
        anyOut,
      ),
    )
    .input(pathProbeInput)
    .query(({ ctx, input }) => explainNicPath(ctx.app, ctx.user, input)),
  // Tenancy: ownership, locks, rename and clone.
  ...ownershipProcedures("sg"),
  clone: protectedProcedure
    .input(cloneInput)
    .mutation(({ ctx, input }) => cloneSg(ctx.app, actorOf(ctx), ctx.user, input.id, input.name)),
});
