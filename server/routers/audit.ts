import { auditListInput } from "../../lib/tenancy";
import { auditListOut, rest } from "../rest/meta";
import { listAudit } from "../services/audit-log";
import { adminProcedure, router } from "../trpc";

export const auditRouter = router({
  list: adminProcedure
    .meta(rest("GET", "/audit", "audit", "The audit log, newest first, filtered", auditListOut))
    .input(auditListInput)
    .query(({ ctx, input }) => listAudit(ctx.app, input)),
});
