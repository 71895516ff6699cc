import { z } from "zod";
import { clusters, groups } from "../../db/schema";
import { userCreateInput } from "../../lib/schemas";
import { userUpdateInput } from "../../lib/tenancy";
import { meOut, rest } from "../rest/meta";
import { createUser, listUsers, removeUser, setPassword, updateUser } from "../services/users";
import { actorOf, adminProcedure, protectedProcedure, publicProcedure, router } from "../trpc";
import { ownershipChoices } from "./ownership";

export const userRouter = router({
  /** The signed-in user, or null (the SPA uses this to decide whether to show the login page). */
  me: publicProcedure.query(({ ctx }) => ctx.user),
  /** The caller, for scripts: unlike `me`, an unknown or expired token is refused with its reason.
   * The same answer for a token and its user's session (the authorization matrix checks that). */
  whoami: protectedProcedure
    .meta(rest("GET", "/me", "users", "The user the token acts as", meOut))
    .query(({ ctx }) => ctx.user),
  list: adminProcedure.query(({ ctx }) => listUsers(ctx.app)),
  create: adminProcedure
    .input(userCreateInput)
    .mutation(({ ctx, input }) => createUser(ctx.app, actorOf(ctx), input)),
  update: adminProcedure
    .input(userUpdateInput)
    .mutation(({ ctx, input }) => updateUser(ctx.app, actorOf(ctx), input)),
  setPassword: adminProcedure
    .input(z.object({ id: z.string().min(1), password: userCreateInput.shape.password }))
    .mutation(({ ctx, input }) => setPassword(ctx.app, actorOf(ctx), input.id, input.password)),
  remove: adminProcedure
    .input(z.object({ id: z.string().min(1) }))
    .mutation(({ ctx, input }) => removeUser(ctx.app, actorOf(ctx), ctx.user, input.id)),
  groups: protectedProcedure.query(({ ctx }) => ctx.db.select().from(groups).orderBy(groups.id).all()),
  clusters: protectedProcedure.query(({ ctx }) => ctx.db.select().from(clusters).orderBy(clusters.id).all()),
  /** Who objects may be given to and which groups they may move to (permissions panel). */
  ownershipChoices,
});
