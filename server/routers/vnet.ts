import { idInput, vnetCreateInput } from "../../lib/schemas";
import { cloneInput, labelsInput, reserveInput } from "../../lib/tenancy";
import { reserve } from "../services/reservations";
import { cloneVnet, myVnets, setLabels } from "../services/vnet-tenancy";
import { createVnet, getVnet, listVnets, removeVnet } from "../services/vnets";
import { actorOf, adminProcedure, protectedProcedure, router } from "../trpc";
import { ownershipProcedures } from "./ownership";

export const vnetRouter = router({
  list: protectedProcedure.query(({ ctx }) => listVnets(ctx.app, ctx.user)),
  get: protectedProcedure.input(idInput).query(({ ctx, input }) => getVnet(ctx.app, ctx.user, input.id)),
  create: adminProcedure
    .input(vnetCreateInput)
    .mutation(({ ctx, input }) => createVnet(ctx.app, actorOf(ctx), ctx.user, input)),
  // MANAGE on the VNET is checked in the service's query (owners delete their own VNETs).
  remove: protectedProcedure
    .input(idInput)
    .mutation(({ ctx, input }) => removeVnet(ctx.app, actorOf(ctx), ctx.user, input.id)),
  // Tenancy (issue 6): ownership, clone, reservations, labels, the caller's own VNETs.
  ...ownershipProcedures("vnet"),
  clone: protectedProcedure
    .input(cloneInput)
    .mutation(({ ctx, input }) => cloneVnet(ctx.app, actorOf(ctx), ctx.user, input.id, input.name)),
  reserve: protectedProcedure
    .input(reserveInput)
    .mutation(({ ctx, input }) => reserve(ctx.app, actorOf(ctx), ctx.user, input)),
  setLabels: protectedProcedure
    .input(labelsInput)
    .mutation(({ ctx, input }) => setLabels(ctx.app, actorOf(ctx), ctx.user, input.id, input.labels)),
  mine: protectedProcedure.query(({ ctx }) => myVnets(ctx.app, ctx.user)),
});
