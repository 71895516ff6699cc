// The agent channel. join: one-time token → credential. watch: a long-lived SSE subscription on
// which the server pushes the node's whole desired state whenever its revision changes.
// report: what the agent applied (also its heartbeat). Every call but join carries the credential.
import { TRPCError, tracked } from "@trpc/server";
import { eq } from "drizzle-orm";
import { z } from "zod";
import { nodes } from "../../db/schema";
import { agentReportSchema, joinRequestSchema, previewAnswerSchema } from "../../lib/wire";
import { RECONNECT } from "../app";
import { audit } from "../audit";
import { logOf } from "../observability/log";
import { metricsOf } from "../observability/metrics";
import { type CompileGate, compileGate } from "../services/nodes/compile-gate";
import { compileDesiredState } from "../services/nodes/desired";
import { joinNode, recordReport } from "../services/nodes/nodes";
import { type PreviewRequest, previewAnswered } from "../services/nodes/preview";
import { wakeups } from "../services/nodes/wakeups";
import { agentWire, refuseWire, stateForWire } from "../services/nodes/wire-compat";
import { actorOf, nodeProcedure, publicProcedure, router } from "../trpc";

/** One gate per app: every stream of the process compiles through it (see compile-gate.ts). */
const gates = new WeakMap<object, CompileGate>();
const gateOf = (app: object) => {
  let g = gates.get(app);
  if (!g) {
    g = compileGate();
    gates.set(app, g);
  }
  return g;
};

export const agentRouter = router({
  join: publicProcedure
    .input(joinRequestSchema)
    .mutation(({ ctx, input }) => joinNode(ctx.app, actorOf(ctx), input)),

  watch: nodeProcedure
    .input(
      z.object({
        nodeId: z.number().int(),
        lastEventId: z.string().nullish(),
        /** Absent from wire-1 agents. */
        wireVersion: z.number().int().optional(),
      }),
    )
    .subscription(async function* ({ ctx, input, signal }) {
      const { app, node } = ctx;
      if (input.nodeId !== node.id) {
        audit(app.db, actorOf(ctx, node), {
          action: "agent.watch",
          objectType: "node",
          objectId: input.nodeId,
          outcome: "refused",
          detail: `credential of node ${node.name} used for node ${input.nodeId}`,
        });
        throw new TRPCError({
          code: "FORBIDDEN",
          message: `This credential belongs to node ${node.name}, not node ${input.nodeId}`,
        });
      }
      const wire = agentWire(input.wireVersion);
      const mismatch = refuseWire(app, node, wire);
      // Retryable for the agent (not a refusal of the node): it keeps trying until one side is upgraded.
      if (mismatch) throw new TRPCError({ code: "PRECONDITION_FAILED", message: mismatch });
      const conn = app.agents.open(node.id);
      const stop = AbortSignal.any([conn.signal, app.shutdown.signal, ...(signal ? [signal] : [])]);
      app.db.update(nodes).set({ lastSeenAt: new Date() }).where(eq(nodes.id, node.id)).run();
      app.bus.emit("nodes:changed");
      // Listen before the first read, so a change committed in between is not missed.
      const wake = wakeups(app.bus, `node:${node.id}`, stop);
      let sent = input.lastEventId ? Number(input.lastEventId) : -1;
      let wokeAt: number | null = null;
      try {
        while (!stop.aborted) {
          const state = await gateOf(app).run(() => {
            const compiled = compileDesiredState(app.db, node.id);
            return compiled && stateForWire(compiled, wire, app.tls.pins());
          });
          if (!state) break;
          if (state.revision !== sent) {
            sent = state.revision;
            metricsOf(app).pushed(node.id, state.revision, wokeAt === null ? null : Date.now() - wokeAt);
            yield tracked(String(state.revision), state as typeof state | PreviewRequest);
          }
          const woke = await wake.next();
          if (!woke) break;
          wokeAt = Date.now();
          // A plan preview request rides the same stream; its event id stays the last revision
          // sent, so a resumed stream still starts from the right state.
          for (const p of woke.previews) yield tracked(String(sent), p as typeof state | PreviewRequest);
        }
      } catch (err) {
        if (!stop.aborted) throw err;
      } finally {
        wake.close();
        app.agents.close(node.id, conn);
        app.bus.emit("nodes:changed");
      }
      // Never end the stream quietly (the client would take it as "done"): say why it ended.
      if (app.shutdown.signal.aborted)
        throw new TRPCError({ code: "SERVICE_UNAVAILABLE", message: "Server is restarting; reconnect" });
      if (signal?.aborted) return;
      if (conn.signal.reason === RECONNECT)
        throw new TRPCError({
          code: "SERVICE_UNAVAILABLE",
          message: "The portal's certificate changed; reconnect",
        });
      throw new TRPCError({
        code: "UNAUTHORIZED",
        message: `Node ${node.name} was revoked or deleted; re-enroll it with a new join token`,
      });
    }),

  /** The agent's answer to a plan preview request. */
  preview: nodeProcedure.input(previewAnswerSchema).mutation(({ ctx, input }) => {
    if (input.nodeId !== ctx.node.id)
      throw new TRPCError({ code: "FORBIDDEN", message: `This credential belongs to node ${ctx.node.name}` });
    previewAnswered(ctx.app, input.requestId, { lines: input.lines, error: input.error });
    return { ok: true as const };
  }),

  report: nodeProcedure.input(agentReportSchema).mutation(({ ctx, input }) => {
    const mismatch = refuseWire(ctx.app, ctx.node, agentWire(input.wireVersion));
    if (mismatch) throw new TRPCError({ code: "PRECONDITION_FAILED", message: mismatch });
    const res = recordReport(ctx.app, actorOf(ctx, ctx.node), ctx.node, input);
    metricsOf(ctx.app).reported(ctx.node, input);
    // One line per reconcile that did something or failed (heartbeats are the request lines).
    if (!input.ok || input.operations > 0 || input.repairs?.length)
      logOf(ctx.app)[input.ok ? "info" : "warn"](
        {
          node: ctx.node.name,
          revision: input.revision,
          ok: input.ok,
          operations: input.operations,
          durationMs: input.durationMs,
          ...(input.phases ? { phases: input.phases } : {}),
          repairs: input.repairs?.length ?? 0,
          networksFailed: input.networks.filter((n) => !n.ok).length,
          portsFailed: input.ports.filter((p) => !p.ok).length,
          error: input.error,
        },
        "agent apply",
      );
    return res;
  }),
});
