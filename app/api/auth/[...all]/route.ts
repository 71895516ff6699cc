import { authFor, getApp } from "@/server/app";

export const dynamic = "force-dynamic";

// The cookie's Secure flag follows the scheme this request came over (server/forwarded.ts).
const handle = (req: Request) => authFor(getApp(), req).handler(req);
export const GET = handle;
export const POST = handle;
