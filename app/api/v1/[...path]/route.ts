import { getApp } from "@/server/app";
import { handleRest } from "@/server/rest/handler";

export const dynamic = "force-dynamic";

function handler(req: Request) {
  return handleRest(getApp(), req);
}

export { handler as DELETE, handler as GET, handler as PATCH, handler as POST, handler as PUT };
