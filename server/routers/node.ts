import {
  certificateActivateInput,
  certificateStageInput,
  idInput,
  nodeCreateInput,
  nodeListInput,
} from "../../lib/schemas";
import { notFound } from "../errors";
import { anyOut, nodeListOut, rest } from "../rest/meta";
import { backupStatus } from "../services/backups";
import { nodeHistory } from "../services/nodes/apply-history";
import {
  activateCertificate,
  certificateStatus,
  discardCertificate,
  stageCertificate,
} from "../services/nodes/certificate";
import { compileDesiredState } from "../services/nodes/desired";
import { listNodes, pageNodes } from "../services/nodes/list";
import { createNode, newNodeToken, removeNode, revokeNode } from "../services/nodes/nodes";
import { previewPlan } from "../services/nodes/preview";
import { actorOf, adminProcedure, protectedProcedure, router } from "../trpc";

export const nodeRouter = router({
  list: adminProcedure
    .meta(
      rest(
        "GET",
        "/nodes",
        "nodes",
        "A page of nodes with their desired and applied revisions (filter q/state, sort, offset, limit)",
        nodeListOut,
      ),
    )
    .input(nodeListInput)
    .query(({ ctx, input }) => pageNodes(ctx.app, input)),
  /** Whether the database is backed up on a schedule, and when the last backup was taken. */
  backups: adminProcedure.query(({ ctx }) => backupStatus(ctx.app)),
  /** The certificate agents pin, a staged replacement and which agents acknowledged it. */
  certificate: adminProcedure.query(({ ctx }) => certificateStatus(ctx.app)),
  stageCertificate: adminProcedure
    .input(certificateStageInput)
    .mutation(({ ctx, input }) => stageCertificate(ctx.app, actorOf(ctx), input)),
  activateCertificate: adminProcedure
    .input(certificateActivateInput)
    .mutation(({ ctx, input }) => activateCertificate(ctx.app, actorOf(ctx), input)),
  discardCertificate: adminProcedure.mutation(({ ctx }) => discardCertificate(ctx.app, actorOf(ctx))),
  /** Nodes an instance may be placed on (any signed-in user creating an instance needs this). */
  choices: protectedProcedure.query(({ ctx }) =>
    listNodes(ctx.app)
      .filter((n) => n.state !== "revoked")
      .map((n) => ({ id: n.id, name: n.name, cluster: n.cluster, state: n.state })),
  ),
  desired: adminProcedure.input(idInput).query(({ ctx, input }) => {
    const state = compileDesiredState(ctx.db, input.id);
    if (!state) throw notFound(`Node ${input.id}`);
    return state;
  }),
  /** The exact commands the node's agent would run now (observed kernel → desired state). */
  preview: adminProcedure
    .meta(rest("GET", "/nodes/{id}/plan", "nodes", "The commands the node's agent would run now", anyOut))
    .input(idInput)
    .query(async ({ ctx, input }) => {
      const r = await previewPlan(ctx.app, input.id);
      if (!r) throw notFound(`Node ${input.id}`);
      return r;
    }),
  /** The node's last applies, drift repairs and failed applies with their commands, newest first. */
  history: adminProcedure
    .meta(
      rest(
        "GET",
        "/nodes/{id}/history",
        "nodes",
        "The node's recent applies, drift repairs and failed applies",
        anyOut,
      ),
    )
    .input(idInput)
    .query(({ ctx, input }) => nodeHistory(ctx.app, input.id)),
  create: adminProcedure
    .input(nodeCreateInput)
    .mutation(({ ctx, input }) => createNode(ctx.app, actorOf(ctx), input)),
  newToken: adminProcedure
    .input(idInput)
    .mutation(({ ctx, input }) => newNodeToken(ctx.app, actorOf(ctx), input.id)),
  revoke: adminProcedure
    .input(idInput)
    .mutation(({ ctx, input }) => revokeNode(ctx.app, actorOf(ctx), input.id)),
  remove: adminProcedure
    .input(idInput)
    .mutation(({ ctx, input }) => removeNode(ctx.app, actorOf(ctx), input.id)),
});
