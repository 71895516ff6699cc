import { getApp } from "@/server/app";
import { exportAudit } from "@/server/rest/audit-export";

export const dynamic = "force-dynamic";

export function GET(req: Request) {
  return exportAudit(getApp(), req);
}
