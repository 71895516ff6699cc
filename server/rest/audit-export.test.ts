// The audit export through its real handler on a real database: CSV that a spreadsheet reads safely,
// JSON, the page's filters, admins only, and the export itself audited.
import { beforeEach, describe, expect, it } from "vitest";
import type { App } from "../app";
import { audit } from "../audit";
import { fixtureUser, testApp } from "../harness.testing";
import { exportAudit } from "./audit-export";

const URL_BASE = "http://portal.test/api/audit/export";

describe("audit export (CSV, JSON)", () => {
  let app: App;
  let token: string;
  beforeEach(async () => {
    app = testApp();
    const admin = fixtureUser(app, "root", "admin", [0]);
    token = (await admin.caller.token.create({ name: "export", expiresInDays: null, readOnly: true })).token;
    for (let i = 0; i < 1205; i++)
      audit(
        app.db,
        { userId: null, name: i % 2 ? "alice" : "bob", ip: "10.0.0.1" },
        {
          action: i % 3 ? "vnet.create" : "lease.hold",
          objectType: "vnet",
          objectId: i,
          objectName: i === 7 ? '=HYPERLINK("http://x","click")' : `net-${i}`,
          detail: i === 8 ? 'line one\nline "two", with comma' : undefined,
        },
      );
  });
  const get = (q: string, auth = token) =>
    exportAudit(app, new Request(`${URL_BASE}?${q}`, { headers: { authorization: `Bearer ${auth}` } }));

  it("CSV: a header and one record per entry (multi-line and quoted fields intact), formulas defused, as a download", async () => {
    const res = await get("format=csv");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/csv/);
    expect(res.headers.get("content-disposition")).toMatch(
      /^attachment; filename="bridgehead-audit-.*\.csv"$/,
    );
    const text = await res.text();
    expect(
      text.startsWith("id,at,actor,via,action,outcome,objectType,objectId,objectName,sourceIp,detail\r\n"),
    ).toBe(true);
    const records = text.trimEnd().split("\r\n");
    // Every entry (more than one page of the export's reads), the export's own entry included: it is
    // written before the stream starts. One more line: the header.
    const total = (app.db.$client.prepare("SELECT count(*) AS n FROM audit_log").get() as { n: number }).n;
    expect(records.length - 1).toBe(total);
    expect(text).toContain(`"'=HYPERLINK(""http://x"",""click"")"`);
    expect(text).toContain('"line one\nline ""two"", with comma"');
  });

  it("JSON with the page's filters: only the matching entries, newest first", async () => {
    const res = await get("format=json&actor=alice&action=lease");
    expect(res.status).toBe(200);
    const rows = (await res.json()) as { id: number; actor: string; action: string }[];
    const expected = app.db.$client
      .prepare("SELECT id FROM audit_log WHERE actor = 'alice' AND action LIKE 'lease%' ORDER BY id DESC")
      .all() as { id: number }[];
    expect(rows.map((r) => r.id)).toEqual(expected.map((r) => r.id));
    expect(rows.length).toBeGreaterThan(100);
    expect(new Set(rows.map((r) => `${r.actor} ${r.action}`))).toEqual(new Set(["alice lease.hold"]));
    const empty = await (await get("format=json&actor=nobody")).json();
    expect(empty).toEqual([]);
  });

  it("admins only, bad filters named, and every export audited", async () => {
    const bob = fixtureUser(app, "carol", "user", [1]);
    const userToken = (await bob.caller.token.create({ name: "t", expiresInDays: null, readOnly: true }))
      .token;
    expect((await get("format=csv", userToken)).status).toBe(403);
    expect((await exportAudit(app, new Request(`${URL_BASE}?format=csv`))).status).toBe(401);
    const bad = await get("format=xml");
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { fieldErrors: object }).fieldErrors).toHaveProperty("format");
    const badDate = await get("format=csv&from=yesterday");
    expect(badDate.status).toBe(400);
    expect(((await badDate.json()) as { fieldErrors: object }).fieldErrors).toHaveProperty("from");
    await (await get("format=json&outcome=ok")).text();
    const entry = app.db.$client
      .prepare("SELECT actor, detail, via FROM audit_log WHERE action = 'audit.export' ORDER BY id DESC")
      .get();
    expect(entry).toMatchObject({ actor: "root", detail: "json, filters outcome=ok" });
  });
});
