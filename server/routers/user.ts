import { clusters, groups } from "../../db/schema";
import { userCreateInput } from "../../lib/schemas";
import { createUser, listUsers } from "../services/users";
import { actorOf, adminProcedure, protectedProcedure, publicProcedure, router } from "../trpc";

export const userRouter = router({
  /** The signed-in user, or null (the SPA uses this to decide whether to show the login page). */
  me: publicProcedure.query(({ ctx }) => ctx.user),
  list: adminProcedure.query(({ ctx }) => listUsers(ctx.app)),
  create: adminProcedure
    .input(userCreateInput)
    .mutation(({ ctx, input }) => createUser(ctx.app, actorOf(ctx), input)),
  groups: protectedProcedure.query(({ ctx }) => ctx.db.select().from(groups).orderBy(groups.id).all()),
  clusters: protectedProcedure.query(({ ctx }) => ctx.db.select().from(clusters).orderBy(clusters.id).all()),
});
