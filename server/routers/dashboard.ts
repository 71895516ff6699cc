import { dashboard } from "../services/dashboard/dashboard";
import { protectedProcedure, router } from "../trpc";

// Every signed-in user has a home page; the service scopes it (admins: the cloud, others: their own).
export const dashboardRouter = router({
  /** What needs attention: node health, the fullest VNETs, NICs outdated or in error, recent
   * repairs and apply errors, the last audit entries. */
  get: protectedProcedure.query(({ ctx }) => dashboard(ctx.app, ctx.user)),
});
