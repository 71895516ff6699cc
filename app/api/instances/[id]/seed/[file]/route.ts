import { getApp } from "@/server/app";
import { downloadSeed } from "@/server/rest/seed";

export const dynamic = "force-dynamic";

export function GET(req: Request) {
  return downloadSeed(getApp(), req);
}
