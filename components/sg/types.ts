// Shapes of the security-group API as the pages get them (inferred, never redeclared).
import type { inferRouterInputs, inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "@/server/routers/root";

type Out = inferRouterOutputs<AppRouter>["sg"];
export type SgSummary = Out["list"][number];
export type Sg = Out["get"];
export type SgNic = Sg["nics"][number];
export type SgLint = Sg["lint"][number];
export type ExplainResult = Out["explain"];
export type ProbeInput = inferRouterInputs<AppRouter>["sg"]["explain"];

/** The built-in group that allows everything both ways. */
export const DEFAULT_SG_ID = 0;
export type PolicyPreview = Out["preview"];
export type SgCounters = Out["counters"];
