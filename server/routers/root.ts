// The API: one router per entity, merged here.

import { createCallerFactory, router } from "../trpc";
import { agentRouter } from "./agent";
import { auditRouter } from "./audit";
import { dashboardRouter } from "./dashboard";
import { groupRouter } from "./group";
import { instanceRouter } from "./instance";
import { leaseRouter } from "./lease";
import { nodeRouter } from "./node";
import { peeringRouter } from "./peering";
import { quotaRouter } from "./quota";
import { rangeRouter } from "./range";
import { sgRouter } from "./sg";
import { templateRouter } from "./template";
import { tokenRouter } from "./token";
import { topologyRouter } from "./topology";
import { userRouter } from "./user";
import { vnetRouter } from "./vnet";

export const appRouter = router({
  user: userRouter,
  vnet: vnetRouter,
  range: rangeRouter,
  lease: leaseRouter,
  sg: sgRouter,
  instance: instanceRouter,
  node: nodeRouter,
  agent: agentRouter,
  audit: auditRouter,
  dashboard: dashboardRouter,
  template: templateRouter,
  group: groupRouter,
  quota: quotaRouter,
  peering: peeringRouter,
  token: tokenRouter,
  topology: topologyRouter,
});

export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);
