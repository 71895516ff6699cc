// The REST API end to end through its real handler (the one app/api/v1 serves) on a real migrated
// database: the OpenAPI document is valid 3.1 and lists what is served, a client driven by the
// document scripts a VNET with a token, and errors keep the tRPC codes and field messages.
import { readFileSync } from "node:fs";
import { validate } from "@readme/openapi-parser";
import createClient from "openapi-fetch";
import { beforeEach, describe, expect, it } from "vitest";
import type { paths } from "../../lib/api/v1";
import { API_TYPES_FILE, apiTypes } from "../../scripts/openapi-types/generate";
import type { App } from "../app";
import { fixtureUser, refusal, snapshot, testApp } from "../harness.testing";
import { openApiDocument } from "./document";
import { handleRest } from "./handler";

const BASE = "http://portal.test/api/v1";

/** fetch, answered by the handler in-process: the same Request objects an HTTP server would pass. */
function fetchVia(app: App) {
  return (input: RequestInfo | URL, init?: RequestInit) =>
    handleRest(app, input instanceof Request ? input : new Request(input, init));
}

async function call(app: App, method: string, path: string, opts: { token?: string; body?: unknown } = {}) {
  const headers: Record<string, string> = {};
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  const res = await handleRest(
    app,
    new Request(`${BASE}${path}`, {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    }),
  );
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe("REST API (/api/v1) and its OpenAPI document", () => {
  let app: App;
  let admin: ReturnType<typeof fixtureUser>;
  let token: string;
  beforeEach(async () => {
    app = testApp();
    admin = fixtureUser(app, "root", "admin", [0]);
    token = (await admin.caller.token.create({ name: "script", expiresInDays: null, readOnly: false })).token;
  });

  it("the document is valid OpenAPI 3.1 and every operation in it is served (none answers 404/405)", async () => {
    const doc = openApiDocument();
    const result = await validate(structuredClone(doc) as never);
    expect(result.valid ? [] : result.errors).toEqual([]);
    expect(doc.openapi).toBe("3.1.0");
    const ops = Object.entries(doc.paths ?? {}).flatMap(([p, item]) =>
      Object.keys(item as object).map((m) => `${m.toUpperCase()} ${p}`),
    );
    for (const op of [
      "GET /vnets",
      "POST /vnets",
      "GET /vnets/{id}",
      "PATCH /vnets/{id}",
      "DELETE /vnets/{id}",
      "POST /vnets/{vnetId}/ranges",
      "PATCH /ranges/{id}",
      "DELETE /ranges/{id}",
      "GET /vnets/{vnetId}/leases",
      "POST /vnets/{vnetId}/leases/hold",
      "POST /vnets/{vnetId}/leases/release",
      "GET /vnets/{vnetId}/leases/history",
      "GET /security-groups",
      "POST /security-groups",
      "PUT /security-groups/{id}",
      "POST /security-groups/{sgId}/vnets/{vnetId}",
      "GET /templates",
      "POST /templates/{templateId}/instantiate",
      "GET /instances",
      "POST /instances",
      "POST /instances/{instanceId}/nics",
      "PATCH /nics/{nicId}",
      "DELETE /nics/{nicId}",
      "GET /nodes",
      "GET /audit",
    ])
      expect(ops).toContain(op);
    // Every documented operation reaches its procedure: a call with a bogus id is refused by the
    // procedure (400/404/403…), never by the router as an unknown route.
    for (const op of ops) {
      const [method, path] = op.split(" ") as [string, string];
      const res = await call(app, method, path.replace(/\{[^}]+\}/g, "999999"), {
        token,
        body: method === "GET" || method === "DELETE" ? undefined : {},
      });
      expect(
        [404, 405].includes(res.status) && /No API route|is not served/.test(String(res.body.message)),
        op,
      ).toBe(false);
    }
  });

  it("lib/api/v1.d.ts is what openapi-typescript generates from the document today (else: npm run api:types)", async () => {
    expect(await apiTypes()).toBe(readFileSync(API_TYPES_FILE, "utf8"));
  });

  it("a client typed by the generated paths creates a VNET with a range, holds an address and reads it back, with a token", async () => {
    const doc = openApiDocument();
    for (const p of [
      "/vnets",
      "/vnets/{vnetId}/ranges",
      "/vnets/{vnetId}/leases/hold",
      "/vnets/{vnetId}/leases",
    ])
      expect(doc.paths?.[p], p).toBeDefined();
    // Typed by the paths openapi-typescript generated from the document (lib/api/v1.d.ts): a path,
    // parameter or body field the document does not declare fails the typecheck of this file.
    const api = createClient<paths>({
      baseUrl: BASE,
      fetch: fetchVia(app),
      headers: { authorization: `Bearer ${token}` },
    });
    const created = await api.POST("/vnets", {
      body: { name: "scripted", subnet: "10.9.0.0/24", firstIp: "10.9.0.10", size: 10 },
    });
    expect(created.response.status, JSON.stringify(created.error)).toBe(200);
    const vnetId = (created.data as { id: number }).id;
    const range = await api.POST("/vnets/{vnetId}/ranges", {
      params: { path: { vnetId } },
      body: { range: { type: "ip4", ip: "10.9.0.100", size: 20 } },
    });
    expect(range.response.status, JSON.stringify(range.error)).toBe(200);
    const held = await api.POST("/vnets/{vnetId}/leases/hold", {
      params: { path: { vnetId } },
      body: { from: "10.9.0.101", reason: "reserved for the router" },
    });
    expect(held.response.status, JSON.stringify(held.error)).toBe(200);
    expect(held.data).toMatchObject({ held: 1 });
    const leases = await api.GET("/vnets/{vnetId}/leases", {
      params: { path: { vnetId }, query: { state: "hold", limit: 50 } },
    });
    expect(leases.response.status, JSON.stringify(leases.error)).toBe(200);
    const rows = (leases.data as { rows: { ip: string; state: string; reason: string }[] }).rows;
    expect(rows).toEqual([
      expect.objectContaining({ ip: "10.9.0.101", state: "hold", reason: "reserved for the router" }),
    ]);
    // What the script did is in the database and the audit log, as the token.
    const vnet = await admin.caller.vnet.get({ id: vnetId });
    expect(vnet.ranges.map((r) => [r.ip, r.size])).toEqual([
      ["10.9.0.10", 10],
      ["10.9.0.100", 20],
    ]);
    const via = app.db.$client.prepare("SELECT via FROM audit_log WHERE action = 'lease.hold'").get() as {
      via: string;
    };
    expect(via.via).toMatch(/^token:script/);
  });

  it("bad input: 400 with the same field messages the UI shows, and nothing written", async () => {
    await call(app, "GET", "/vnets", { token }); // the token's first use stamps its last_used_at
    const before = snapshot(app);
    const res = await call(app, "POST", "/vnets", {
      token,
      body: { name: "", subnet: "10.0.0.0/33", size: 0 },
    });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("BAD_REQUEST");
    const fields = res.body.fieldErrors as Record<string, string[]>;
    expect(Object.keys(fields)).toEqual(expect.arrayContaining(["name", "subnet"]));
    expect(fields.name!.join(" ")).toMatch(/required/i);
    // The message reads as a sentence naming the fields, not a dump of the validator's issues.
    expect(String(res.body.message)).toMatch(/^Invalid input: name: .*required.*; subnet: /i);
    // The same call over tRPC refuses with the same fields.
    const trpc = await refusal(
      admin.caller.vnet.create({ name: "", subnet: "10.0.0.0/33", size: 0 } as never),
      "BAD_REQUEST",
      "name",
    );
    expect(trpc.code).toBe(res.body.code);
    expect(snapshot(app)).toEqual(before);
    // Shapes that are not JSON objects are refused before any procedure runs; still nothing written.
    for (const body of ["not json", "[1,2]", "null"]) {
      const r = await handleRest(
        app,
        new Request(`${BASE}/vnets`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body,
        }),
      );
      expect(r.status, body).toBe(400);
    }
    const form = await handleRest(
      app,
      new Request(`${BASE}/vnets`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/x-www-form-urlencoded" },
        body: "name=x",
      }),
    );
    expect(form.status).toBe(415);
    expect(snapshot(app)).toEqual(before);
  });

  it("authentication and permission: no token 401, a read-only token 403 on changes, other users' objects 404; nothing written", async () => {
    const v = await admin.caller.vnet.create({
      name: "n",
      subnet: "10.1.0.0/24",
      firstIp: "10.1.0.10",
      size: 5,
    });
    const ro = (await admin.caller.token.create({ name: "ro", expiresInDays: 1, readOnly: true })).token;
    const bob = fixtureUser(app, "bob", "user", [1]);
    app.db.$client.prepare("UPDATE vnets SET perms = ?").run(0o600);
    const bobToken = (await bob.caller.token.create({ name: "b", expiresInDays: null, readOnly: false }))
      .token;
    for (const t of [ro, bobToken]) await call(app, "GET", "/vnets", { token: t }); // stamps last_used_at
    const before = snapshot(app);

    const anon = await call(app, "GET", "/vnets");
    expect(anon.status).toBe(401);
    expect(anon.body.code).toBe("UNAUTHORIZED");
    const unknown = await call(app, "GET", "/vnets", { token: "bht_notatoken" });
    expect(unknown.status).toBe(401);
    expect(String(unknown.body.message)).toMatch(/not known/);

    expect((await call(app, "GET", `/vnets/${v.id}`, { token: ro })).status).toBe(200);
    const refused = await call(app, "DELETE", `/vnets/${v.id}`, { token: ro });
    expect(refused.status).toBe(403);
    expect(String(refused.body.message)).toMatch(/read-only/i);

    const hidden = await call(app, "GET", `/vnets/${v.id}`, { token: bobToken });
    expect(hidden.status).toBe(404);
    expect((await call(app, "GET", "/vnets", { token: bobToken })).body).toEqual([]);
    expect(snapshot(app)).toEqual(before);
  });

  it("unknown routes and methods say where to look; path and query text become numbers only when they are numbers", async () => {
    const nf = await call(app, "GET", "/nope", { token });
    expect(nf.status).toBe(404);
    expect(String(nf.body.message)).toContain("/api/openapi.json");
    const wrong = await call(app, "PUT", "/vnets", { token, body: {} });
    expect(wrong.status).toBe(405);
    expect(String(wrong.body.message)).toMatch(/use GET, POST|use POST, GET/);
    const bad = await call(app, "GET", "/vnets/abc", { token });
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.body.fieldErrors as object)).toEqual(["id"]);
  });

  it("serving REST leaves the tRPC input schemas as they are (the portal still refuses a string for a number)", async () => {
    const v = await admin.caller.vnet.create({
      name: "n",
      subnet: "10.1.0.0/24",
      firstIp: "10.1.0.10",
      size: 5,
    });
    expect((await call(app, "GET", `/vnets/${v.id}/leases?offset=0&limit=5`, { token })).status).toBe(200);
    await refusal(admin.caller.lease.list({ vnetId: v.id, offset: "1" as never }), "BAD_REQUEST", "offset");
  });
});
