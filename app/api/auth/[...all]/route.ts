import { toNextJsHandler } from "better-auth/next-js";
import { getApp } from "@/server/app";

export const dynamic = "force-dynamic";

const handlers = () => toNextJsHandler(getApp().auth);
export const GET = (req: Request) => handlers().GET(req);
export const POST = (req: Request) => handlers().POST(req);
