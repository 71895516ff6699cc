import { getApp } from "@/server/app";
import { serveMetrics } from "@/server/observability/metrics-endpoint";

export const dynamic = "force-dynamic";

export function GET(req: Request) {
  return serveMetrics(getApp(), req);
}
