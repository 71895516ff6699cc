import { getApp } from "@/server/app";
import { serveSeed } from "@/server/rest/seed";

export const dynamic = "force-dynamic";

function handler(req: Request) {
  return serveSeed(getApp(), req);
}

export { handler as GET, handler as HEAD };
