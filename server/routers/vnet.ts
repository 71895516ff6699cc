import { z } from "zod";
import {
  hosterImportInput,
  idInput,
  lockInput,
  nicContextInput,
  nicQosInput,
  poolsInput,
  setContextInput,
  setQosInput,
  vnetCreateInput,
  vnetDhcpInput,
  vnetRestrictedInput,
  vnetUpdateInput,
} from "../../lib/schemas";
import { cloneInput, labelsInput, reserveInput } from "../../lib/tenancy";
import { anyOut, rest, vnetDetailOut, vnetListOut, vnetOut } from "../rest/meta";
import { exportHoster, importHoster } from "../services/vnets/hoster";
import { reserve } from "../services/vnets/reservations";
import { vnetUnderlay } from "../services/vnets/underlay";
import {
  setLock,
  setNicContext,
  setNicQos,
  setVnetContext,
  setVnetQos,
  updateVnet,
  vnetNics,
} from "../services/vnets/vnet-config";
import { createVnet, getPools, setPools } from "../services/vnets/vnet-create";
import { getVnetDhcp, setVnetDhcp } from "../services/vnets/vnet-dhcp";
import { cloneVnet, myVnets, setLabels } from "../services/vnets/vnet-tenancy";
import { getVnet, listVnets, removeVnet } from "../services/vnets/vnets";
import { actorOf, adminProcedure, protectedProcedure, router } from "../trpc";
import { ownershipProcedures } from "./ownership";

// USE / MANAGE on the VNET is checked in each service's query (admins hold it on everything).
export const vnetRouter = router({
  list: protectedProcedure
    .meta(rest("GET", "/vnets", "vnets", "VNETs the caller may use", vnetListOut))
    .query(({ ctx }) => listVnets(ctx.app, ctx.user)),
  get: protectedProcedure
    .meta(rest("GET", "/vnets/{id}", "vnets", "One VNET with its address ranges", vnetDetailOut))
    .input(idInput)
    .query(({ ctx, input }) => getVnet(ctx.app, ctx.user, input.id)),
  underlay: protectedProcedure
    .meta(
      rest(
        "GET",
        "/vnets/{id}/underlay",
        "vnets",
        "Whether the underlay carries the VNET's VXLAN frames: the path MTU each pair of its nodes measured",
        anyOut,
      ),
    )
    .input(idInput)
    .query(({ ctx, input }) => vnetUnderlay(ctx.app, ctx.user, input.id)),
  create: adminProcedure
    .meta(rest("POST", "/vnets", "vnets", "Create a VNET with its first address range", vnetOut))
    .input(vnetCreateInput)
    .mutation(({ ctx, input }) => createVnet(ctx.app, actorOf(ctx), ctx.user, input)),
  update: protectedProcedure
    .meta(rest("PATCH", "/vnets/{id}", "vnets", "Change a VNET's attributes", anyOut))
    .input(vnetUpdateInput)
    .mutation(({ ctx, input }) => updateVnet(ctx.app, actorOf(ctx), ctx.user, input)),
  // MANAGE on the VNET is checked in the service's query (owners delete their own VNETs).
  remove: protectedProcedure
    .meta(rest("DELETE", "/vnets/{id}", "vnets", "Delete a VNET", anyOut))
    .input(idInput)
    .mutation(({ ctx, input }) => removeVnet(ctx.app, actorOf(ctx), ctx.user, input.id)),
  lock: protectedProcedure
    .input(lockInput)
    .mutation(({ ctx, input }) => setLock(ctx.app, actorOf(ctx), ctx.user, input.id, input.level)),
  unlock: protectedProcedure
    .input(idInput)
    .mutation(({ ctx, input }) => setLock(ctx.app, actorOf(ctx), ctx.user, input.id, null)),
  setContext: protectedProcedure
    .input(setContextInput)
    .mutation(({ ctx, input }) => setVnetContext(ctx.app, actorOf(ctx), ctx.user, input.id, input.context)),
  setQos: protectedProcedure
    .input(setQosInput)
    .mutation(({ ctx, input }) => setVnetQos(ctx.app, actorOf(ctx), ctx.user, input.id, input.qos)),
  /** DHCP & DNS: whether the nodes serve it, domain, lease time, upstreams, the host entries. */
  dhcp: protectedProcedure
    .meta(
      rest("GET", "/vnets/{id}/dhcp", "vnets", "A VNET's DHCP & DNS service and its host entries", anyOut),
    )
    .input(idInput)
    .query(({ ctx, input }) => getVnetDhcp(ctx.app, ctx.user, input.id)),
  setDhcp: protectedProcedure
    .meta(rest("PUT", "/vnets/{id}/dhcp", "vnets", "Change a VNET's DHCP & DNS service", anyOut))
    .input(vnetDhcpInput)
    .mutation(({ ctx, input }) => setVnetDhcp(ctx.app, actorOf(ctx), ctx.user, input)),
  /** NICs on the VNET with their effective QoS and resolved guest context. */
  nics: protectedProcedure
    .meta(rest("GET", "/vnets/{id}/nics", "nics", "NICs on a VNET with their QoS and guest context", anyOut))
    .input(idInput)
    .query(({ ctx, input }) => vnetNics(ctx.app, ctx.user, input.id)),
  setNicQos: protectedProcedure
    .meta(rest("PUT", "/nics/{nicId}/qos", "nics", "Set a NIC's QoS", anyOut))
    .input(nicQosInput)
    .mutation(({ ctx, input }) => setNicQos(ctx.app, actorOf(ctx), ctx.user, input.nicId, input.qos)),
  setNicContext: protectedProcedure
    .input(nicContextInput)
    .mutation(({ ctx, input }) => setNicContext(ctx.app, actorOf(ctx), ctx.user, input.nicId, input.context)),
  pools: protectedProcedure.query(({ ctx }) => getPools(ctx.db)),
  setPools: adminProcedure
    .input(poolsInput)
    .mutation(({ ctx, input }) => setPools(ctx.app, actorOf(ctx), input)),
  /** Hoster's network_config.json: import creates the networks; export gives the file back. */
  importHoster: adminProcedure
    .input(hosterImportInput)
    .mutation(({ ctx, input }) => importHoster(ctx.app, actorOf(ctx), ctx.user, input.json)),
  exportHoster: protectedProcedure
    .input(z.object({ ids: z.array(z.number().int()).optional() }).default({}))
    .query(({ ctx, input }) => exportHoster(ctx.app, ctx.user, input.ids)),
  // Tenancy: ownership, clone, reservations, labels, the caller's own VNETs.
  ...ownershipProcedures("vnet", { omit: ["lock", "unlock"] }),
  // Restricted attributes may be given as overrides of the source's (cloud admins only).
  clone: protectedProcedure
    .input(cloneInput.extend(vnetRestrictedInput.shape))
    .mutation(({ ctx, input: { id, name, ...overrides } }) =>
      cloneVnet(ctx.app, actorOf(ctx), ctx.user, id, name, overrides),
    ),
  reserve: protectedProcedure
    .input(reserveInput)
    .mutation(({ ctx, input }) => reserve(ctx.app, actorOf(ctx), ctx.user, input)),
  setLabels: protectedProcedure
    .input(labelsInput)
    .mutation(({ ctx, input }) => setLabels(ctx.app, actorOf(ctx), ctx.user, input.id, input.labels)),
  mine: protectedProcedure.query(({ ctx }) => myVnets(ctx.app, ctx.user)),
});
