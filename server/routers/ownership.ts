// The ownership procedures every permissioned object has (info, chown, chgrp, chmod, lock, unlock,
// rename), built once per kind and spread into its router. Each checks the session here and the
// object's permission bits and lock inside its service's query.
import { z } from "zod";
import { idInput } from "../../lib/schemas";
import { chgrpInput, chmodInput, chownInput, lockInput, renameInput } from "../../lib/tenancy";
import {
  chgrp,
  chmod,
  chown,
  groupChoices,
  type Kind,
  lock,
  ownershipInfo,
  rename,
  unlock,
  userChoices,
} from "../services/ownership";
import { actorOf, protectedProcedure } from "../trpc";

type Name = "ownership" | "chown" | "chgrp" | "chmod" | "lock" | "unlock" | "rename";

/** info, chown, chgrp, chmod, lock, unlock and rename for objects of `kind`; `omit` leaves out
 * those a router already has (e.g. a VNET lock written on the IPAM side). */
export function ownershipProcedures<const O extends Name = never>(kind: Kind, opts: { omit?: O[] } = {}) {
  const all = {
    ownership: protectedProcedure
      .input(idInput)
      .query(({ ctx, input }) => ownershipInfo(ctx.app, ctx.user, kind, input.id)),
    chown: protectedProcedure
      .input(chownInput)
      .mutation(({ ctx, input }) => chown(ctx.app, actorOf(ctx), ctx.user, kind, input.id, input.userId)),
    chgrp: protectedProcedure
      .input(chgrpInput)
      .mutation(({ ctx, input }) => chgrp(ctx.app, actorOf(ctx), ctx.user, kind, input.id, input.groupId)),
    chmod: protectedProcedure
      .input(chmodInput)
      .mutation(({ ctx, input }) => chmod(ctx.app, actorOf(ctx), ctx.user, kind, input.id, input.perms)),
    lock: protectedProcedure
      .input(lockInput)
      .mutation(({ ctx, input }) => lock(ctx.app, actorOf(ctx), ctx.user, kind, input.id, input.level)),
    unlock: protectedProcedure
      .input(idInput)
      .mutation(({ ctx, input }) => unlock(ctx.app, actorOf(ctx), ctx.user, kind, input.id)),
    rename: protectedProcedure
      .input(renameInput)
      .mutation(({ ctx, input }) => rename(ctx.app, actorOf(ctx), ctx.user, kind, input.id, input.name)),
  };
  const omit = new Set<string>(opts.omit ?? []);
  return Object.fromEntries(Object.entries(all).filter(([k]) => !omit.has(k))) as Omit<typeof all, O>;
}

/** Choices for the permissions panel: groups the caller may move objects to, users (admins). */
export const ownershipChoices = protectedProcedure.input(z.void()).query(({ ctx }) => ({
  groups: groupChoices(ctx.app, ctx.user),
  users: ctx.user.role === "admin" ? userChoices(ctx.app) : [],
}));
