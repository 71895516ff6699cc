import { z } from "zod";
import { octalToPerms } from "../../lib/permissions";
import { idInput, vnetRestrictedInput } from "../../lib/schemas";
import { instantiateInput, templateAllocateInput, templateUpdateInput } from "../../lib/templates";
import { cloneInput } from "../../lib/tenancy";
import { anyOut, rest, templateListOut, templateOut } from "../rest/meta";
import {
  allocateTemplate,
  cloneTemplate,
  getTemplate,
  instantiate,
  listTemplates,
  previewInstantiate,
  removeTemplate,
  updateTemplate,
} from "../services/vnets/templates";
import { actorOf, adminProcedure, protectedProcedure, router } from "../trpc";
import { ownershipProcedures } from "./ownership";

// Permission bits and locks are checked in each service's query; allocate is for cloud admins.
export const templateRouter = router({
  list: protectedProcedure
    .meta(rest("GET", "/templates", "templates", "VNET templates the caller may use", templateListOut))
    .query(({ ctx }) => listTemplates(ctx.app, ctx.user)),
  get: protectedProcedure
    .meta(rest("GET", "/templates/{id}", "templates", "One VNET template", templateOut))
    .input(idInput)
    .query(({ ctx, input }) => getTemplate(ctx.app, ctx.user, input.id)),
  allocate: adminProcedure
    .input(
      templateAllocateInput.extend({
        groupId: z.coerce.number().int().nonnegative().optional(),
        perms: z
          .string()
          .refine((s) => octalToPerms(s) !== null, "Three octal digits, e.g. 640")
          .transform((s) => octalToPerms(s)!)
          .optional(),
      }),
    )
    .mutation(({ ctx, input }) => allocateTemplate(ctx.app, actorOf(ctx), ctx.user, input)),
  update: protectedProcedure
    .input(templateUpdateInput)
    .mutation(({ ctx, input }) => updateTemplate(ctx.app, actorOf(ctx), ctx.user, input)),
  remove: protectedProcedure
    .input(idInput)
    .mutation(({ ctx, input }) => removeTemplate(ctx.app, actorOf(ctx), ctx.user, input.id)),
  clone: protectedProcedure
    .input(cloneInput)
    .mutation(({ ctx, input }) => cloneTemplate(ctx.app, actorOf(ctx), ctx.user, input.id, input.name)),
  preview: protectedProcedure
    .input(instantiateInput)
    .query(({ ctx, input }) => previewInstantiate(ctx.app, ctx.user, input)),
  // Restricted attributes may be given as overrides of the template's (cloud admins only).
  instantiate: protectedProcedure
    .meta(
      rest(
        "POST",
        "/templates/{templateId}/instantiate",
        "templates",
        "Create a VNET of your own from a template",
        anyOut,
      ),
    )
    .input(instantiateInput.extend(vnetRestrictedInput.shape))
    .mutation(({ ctx, input }) => instantiate(ctx.app, actorOf(ctx), ctx.user, input)),
  ...ownershipProcedures("template"),
});
