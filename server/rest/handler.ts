// /api/v1: the REST view of the same procedures the portal calls over tRPC. Each procedure whose
// meta carries a route (meta.ts) is served here through the tRPC caller, so authentication, the
// permission checks inside each query, validation, auditing and error codes are the very same.
//
// Why not trpc-to-openapi's own fetch adapter: on every request it sets `coerce` on the number and
// boolean fields of the procedure's input schema, in place. Those schema objects are shared with the
// tRPC endpoint, so after one REST call the portal's own inputs would accept "1e3" for a number and
// turn the string "false" into true. Here path and query strings are converted into new values
// (numbers only when the text is a number, booleans only from "true"/"false") and the schemas are
// left as they are; anything else reaches zod unchanged and is refused at its field.
import { TRPCError } from "@trpc/server";
import { getHTTPStatusCodeFromError } from "@trpc/server/http";
import { ZodError, type z } from "zod";
import type { App } from "../app";
import { appRouter, createCaller } from "../routers/root";
import { createContext, fieldErrorsOf } from "../trpc";
import type { Meta } from "./meta";

export const REST_BASE = "/api/v1";

type Procedure = {
  _def: { type: "query" | "mutation" | "subscription"; meta?: Meta; inputs: z.ZodType[] };
};

type Route = {
  method: string;
  /** Path segments; `{name}` segments are parameters. */
  segments: string[];
  procedure: string;
  input: z.ZodType | undefined;
};

function routesOf(procedures: Record<string, Procedure>): Route[] {
  const out: Route[] = [];
  for (const [name, proc] of Object.entries(procedures)) {
    const api = proc._def.meta?.openapi;
    if (!api || api.enabled === false) continue;
    out.push({
      method: api.method,
      segments: api.path.split("/").filter(Boolean),
      procedure: name,
      input: proc._def.inputs[0],
    });
  }
  // Literal segments win over parameters (`/vnets/{id}` must not swallow a fixed sibling).
  return out.sort(
    (a, b) =>
      a.segments.filter((s) => s.startsWith("{")).length - b.segments.filter((s) => s.startsWith("{")).length,
  );
}

let routes: Route[] | null = null;
function allRoutes(): Route[] {
  routes ??= routesOf(appRouter._def.procedures as unknown as Record<string, Procedure>);
  return routes;
}

function matchPath(route: Route, parts: string[]): Record<string, string> | null {
  if (route.segments.length !== parts.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    const seg = route.segments[i]!;
    if (seg.startsWith("{")) params[seg.slice(1, -1)] = decodeURIComponent(parts[i]!);
    else if (seg.toLowerCase() !== parts[i]!.toLowerCase()) return null;
  }
  return params;
}

/** The zod kind of a field after optional/nullable/default wrappers ("number", "boolean", "array"…). */
function kindOf(schema: z.ZodType | undefined): string | undefined {
  let s = schema as { _zod?: { def: { type: string; innerType?: unknown; in?: unknown } } } | undefined;
  for (let i = 0; i < 10 && s?._zod; i++) {
    const def = s._zod.def;
    if (def.type === "optional" || def.type === "nullable" || def.type === "default" || def.type === "catch")
      s = def.innerType as typeof s;
    else if (def.type === "pipe") s = def.in as typeof s;
    else return def.type;
  }
  return undefined;
}

function shapeOf(schema: z.ZodType | undefined): Record<string, z.ZodType> {
  let s = schema as { _zod?: { def: { type: string; shape?: unknown; innerType?: unknown; in?: unknown } } };
  for (let i = 0; i < 10 && s?._zod; i++) {
    const def = s._zod.def;
    if (def.type === "object") return def.shape as Record<string, z.ZodType>;
    s = (def.innerType ?? def.in) as typeof s;
  }
  return {};
}

/** A path or query string as the value its field expects; text that is not one stays text, so
 * zod refuses it at that field with its own message. */
function fromText(field: z.ZodType | undefined, text: string): unknown {
  const kind = kindOf(field);
  if (kind === "number" && /^-?\d+(\.\d+)?$/.test(text.trim())) return Number(text);
  if (kind === "boolean" && (text === "true" || text === "false")) return text === "true";
  return text;
}

function queryInput(url: URL, shape: Record<string, z.ZodType>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of new Set(url.searchParams.keys())) {
    const values = url.searchParams.getAll(key);
    const field = shape[key];
    if (kindOf(field) === "array") {
      const item = (field as unknown as { _zod: { def: { element?: z.ZodType } } })._zod?.def.element;
      out[key] = values.map((v) => fromText(item, v));
    } else out[key] = fromText(field, values[values.length - 1]!);
  }
  return out;
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...headers },
  });
}

/** The body of a refused call: the tRPC code, its message, and the field messages the UI shows. */
function errorBody(err: TRPCError) {
  const internal = err.code === "INTERNAL_SERVER_ERROR";
  const fieldErrors = internal ? null : fieldErrorsOf(err.cause);
  // A validation failure's own message is the JSON of zod's issues; a script's log wants a sentence.
  const message = internal
    ? "The server failed on this request; it is logged"
    : err.cause instanceof ZodError && fieldErrors
      ? `Invalid input: ${Object.entries(fieldErrors)
          .map(([field, msgs]) => `${field || "(body)"}: ${msgs?.[0] ?? "invalid"}`)
          .join("; ")}`
      : err.message;
  return { code: err.code, message, fieldErrors };
}

/** Serves one request under /api/v1. */
export async function handleRest(app: App, req: Request): Promise<Response> {
  const url = new URL(req.url);
  const rest = url.pathname.startsWith(REST_BASE) ? url.pathname.slice(REST_BASE.length) : url.pathname;
  const parts = rest.split("/").filter(Boolean);
  const method = req.method.toUpperCase();
  const candidates = allRoutes()
    .map((r) => ({ r, params: matchPath(r, parts) }))
    .filter((c) => c.params);
  const hit = candidates.find((c) => c.r.method === method);
  if (!hit) {
    if (candidates.length) {
      const allow = [...new Set(candidates.map((c) => c.r.method))].join(", ");
      return json(
        405,
        { code: "METHOD_NOT_SUPPORTED", message: `${method} is not served on ${url.pathname}; use ${allow}` },
        { allow },
      );
    }
    return json(404, {
      code: "NOT_FOUND",
      message: `No API route ${method} ${url.pathname}; the routes are listed in /api/openapi.json`,
    });
  }
  const shape = shapeOf(hit.r.input);
  const params: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(hit.params!)) params[k] = fromText(shape[k], v);

  let input: unknown;
  if (method === "GET" || method === "DELETE") input = { ...queryInput(url, shape), ...params };
  else {
    const type = req.headers.get("content-type") ?? "";
    const text = await req.text();
    let body: unknown = {};
    if (text.trim()) {
      if (!/^application\/json\b/i.test(type))
        return json(415, {
          code: "UNSUPPORTED_MEDIA_TYPE",
          message: "Send the request body as JSON with Content-Type: application/json",
        });
      try {
        body = JSON.parse(text);
      } catch {
        return json(400, { code: "PARSE_ERROR", message: "The request body is not valid JSON" });
      }
    }
    if (body === null || typeof body !== "object" || Array.isArray(body))
      return json(400, { code: "BAD_REQUEST", message: "The request body must be a JSON object" });
    input = { ...body, ...params };
  }
  if (!hit.r.input) input = undefined;

  const ctx = await createContext(app, req.headers);
  type Node = { [k: string]: Node } & ((i: unknown) => Promise<unknown>);
  const call = hit.r.procedure.split(".").reduce((at, seg) => at[seg]!, createCaller(ctx) as unknown as Node);
  try {
    const data = await call(input);
    return json(200, data ?? null);
  } catch (cause) {
    const err =
      cause instanceof TRPCError
        ? cause
        : new TRPCError({ code: "INTERNAL_SERVER_ERROR", cause: cause as Error });
    if (err.code === "INTERNAL_SERVER_ERROR")
      console.error(`REST ${method} ${url.pathname} (${hit.r.procedure}) failed:`, err.cause ?? err);
    return json(getHTTPStatusCodeFromError(err), errorBody(err));
  }
}
