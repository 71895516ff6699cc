import { topology } from "../services/topology";
import { protectedProcedure, router } from "../trpc";

// The topology view: every signed-in user, scoped by the service (admins: the cloud, others: their own).
export const topologyRouter = router({
  /** Nodes with their state, the VNETs they host, instances and their NICs. */
  get: protectedProcedure.query(({ ctx }) => topology(ctx.app, ctx.user)),
});
