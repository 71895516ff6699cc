import { openApiDocument } from "@/server/rest/document";

export const dynamic = "force-dynamic";

export function GET() {
  return Response.json(openApiDocument());
}
