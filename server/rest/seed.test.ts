// The cloud-init seed over real HTTP (server/http.ts) on a real migrated database file: a guest with
// its instance's URL gets its three documents, any other URL a bare 404; downloads only for who may
// see the instance; rotation retires the old URL and is audited; a restarted portal shows the same URL.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { App } from "../app";
import { callerFor, fixtureUser, refusal, snapshot, testApp } from "../harness.testing";
import { serveApp } from "../http";

type Caller = ReturnType<typeof fixtureUser>["caller"];

describe("cloud-init seed (NoCloud over HTTP, cidata ISO, context.sh)", () => {
  let dir: string;
  let app: App;
  let server: Awaited<ReturnType<typeof serveApp>>;
  let alice: Caller;
  let bob: Caller;
  let aliceToken: string;
  let bobToken: string;
  let web: { id: number; mac: string; ip: string };
  let dbInst: { id: number };

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "bh-seed-test-"));
    app = testApp(path.join(dir, "bridgehead.db"));
    const admin = fixtureUser(app, "root", "admin", [0]).caller;
    ({ caller: alice } = fixtureUser(app, "alice", "user", [1]));
    ({ caller: bob } = fixtureUser(app, "bob", "user", [1]));
    const v = await admin.vnet.create({
      name: "seed-net",
      subnet: "10.231.0.0/24",
      gateway: "10.231.0.1",
      dns: "10.231.0.1, 9.9.9.9",
      firstIp: "10.231.0.10",
      size: 20,
      mtu: 1400,
    });
    await admin.vnet.chmod({ id: v.id, perms: "604" });
    const nodeId = (await admin.node.create({ name: "node1" })).id;
    const w = await alice.instance.create({ name: "Web 1", nodeId, nics: [{ vnetId: v.id }] });
    web = { id: w.id, mac: w.nics[0]!.mac!, ip: w.nics[0]!.ip! };
    dbInst = await bob.instance.create({ name: "db", nodeId, nics: [{ vnetId: v.id }] });
    aliceToken = (await alice.token.create({ name: "dl", expiresInDays: null, readOnly: true })).token;
    bobToken = (await bob.token.create({ name: "dl", expiresInDays: null, readOnly: true })).token;
    server = await serveApp(app);
  });
  afterEach(async () => {
    await server.close();
    app.db.$client.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const get = (p: string, token?: string) =>
    fetch(`${server.url}${p}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

  it("the instance's own seed URL serves meta-data, user-data and network-config keyed by the NIC's MAC", async () => {
    const seed = await alice.instance.seed({ id: web.id });
    expect(seed.path).toMatch(new RegExp(`^/seed/${web.id}/[A-Za-z0-9_-]{32}/$`));
    const meta = await get(`${seed.path}meta-data`);
    expect(meta.status).toBe(200);
    expect(await meta.text()).toBe(`instance-id: "bh-${web.id}"\nlocal-hostname: "web-1"\n`);
    const user = await (await get(`${seed.path}user-data`)).text();
    expect(user.split("\n")[0]).toBe("#cloud-config");
    expect(user).toContain('hostname: "web-1"');
    const net = await (await get(`${seed.path}network-config`)).text();
    expect(net).toContain("version: 2");
    expect(net).toContain(`macaddress: "${web.mac}"`);
    expect(net).toContain('set-name: "eth0"');
    expect(net).toContain(`- "${web.ip}/24"`);
    expect(net).toContain("mtu: 1400");
    // What the page previews is what the guest gets.
    expect(net).toBe(seed.documents["network-config"]);
    expect((await get(`${seed.path}vendor-data`)).status).toBe(200);
  });

  it("a wrong secret, another instance's secret, an unknown instance or another file: 404, saying nothing", async () => {
    const mine = await alice.instance.seed({ id: web.id });
    const theirs = await bob.instance.seed({ id: dbInst.id });
    const secretOf = (p: string) => p.split("/")[3]!;
    const wrong = [
      `/seed/${web.id}/${secretOf(theirs.path)}/meta-data`,
      `/seed/${web.id}/${secretOf(mine.path).replace(/^./, (c) => (c === "A" ? "B" : "A"))}/meta-data`,
      `/seed/${web.id}/${secretOf(mine.path).slice(0, 31)}/meta-data`,
      `/seed/999999/${secretOf(mine.path)}/meta-data`,
      `/seed/${web.id}/${secretOf(mine.path)}/../../etc/passwd`,
      `/seed/${web.id}/${secretOf(mine.path)}/secret`,
      `/seed/${web.id}/meta-data`,
    ];
    const answers = await Promise.all(wrong.map((p) => get(p)));
    const bodies = await Promise.all(answers.map((r) => r.text()));
    expect(answers.map((r) => r.status)).toEqual(wrong.map(() => 404));
    for (const b of bodies) {
      expect(b).toBe("Not found\n");
      expect(b).not.toMatch(/web|db|instance|secret/i);
    }
    // A session or token does not open someone's seed without its secret either.
    expect((await get(`/seed/${web.id}/${secretOf(theirs.path)}/meta-data`, aliceToken)).status).toBe(404);
  });

  it("the cidata ISO and context.sh download for the owner only; another tenant gets 404, no sign-in 401", async () => {
    const iso = await get(`/api/instances/${web.id}/seed/cidata.iso`, aliceToken);
    expect(iso.status).toBe(200);
    expect(iso.headers.get("content-type")).toBe("application/x-iso9660-image");
    expect(iso.headers.get("content-disposition")).toBe('attachment; filename="Web_1-cidata.iso"');
    const bytes = Buffer.from(await iso.arrayBuffer());
    // ISO 9660: the primary volume descriptor at sector 16 names the volume.
    expect(bytes.subarray(16 * 2048 + 1, 16 * 2048 + 6).toString()).toBe("CD001");
    expect(bytes.subarray(16 * 2048 + 40, 16 * 2048 + 46).toString()).toBe("cidata");

    const sh = await get(`/api/instances/${web.id}/seed/context.sh`, aliceToken);
    expect(sh.status).toBe(200);
    const text = await sh.text();
    expect(text).toContain(`ETH0_IP='${web.ip}'`);
    expect(text).toContain(`ETH0_MAC='${web.mac}'`);
    expect(text).toContain("ETH0_GATEWAY='10.231.0.1'");
    expect(text).toContain("ETH0_DNS='10.231.0.1 9.9.9.9'");
    expect(text).toContain("SET_HOSTNAME='web-1'");

    for (const file of ["cidata.iso", "context.sh"]) {
      const other = await get(`/api/instances/${web.id}/seed/${file}`, bobToken);
      expect(other.status).toBe(404);
      const body = await other.text();
      expect(body).not.toContain(web.ip);
      expect(body).not.toContain("Web 1");
      expect((await get(`/api/instances/${web.id}/seed/${file}`)).status).toBe(401);
    }
    // Bob's own works with his token.
    expect((await get(`/api/instances/${dbInst.id}/seed/context.sh`, bobToken)).status).toBe(200);
  });

  it("rotation retires the old URL at once, issues a working new one and is audited; another tenant cannot rotate", async () => {
    const before = await alice.instance.seed({ id: web.id });
    const unchanged = snapshot(app);
    const refused = await refusal(bob.instance.rotateSeed({ id: web.id }));
    expect(refused.code).toBe("NOT_FOUND");
    expect(snapshot(app)).toEqual(unchanged);
    expect((await get(`${before.path}meta-data`)).status).toBe(200);

    const rotated = await alice.instance.rotateSeed({ id: web.id });
    expect(rotated.path).not.toBe(before.path);
    expect(rotated.generation).toBe(before.generation + 1);
    expect((await get(`${before.path}meta-data`)).status).toBe(404);
    expect((await get(`${rotated.path}meta-data`)).status).toBe(200);
    expect((await alice.instance.seed({ id: web.id })).path).toBe(rotated.path);
    const row = app.db.$client
      .prepare("SELECT seed_generation AS g, seed_secret_hash AS h FROM instances WHERE id = ?")
      .get(web.id) as { g: number; h: string | null };
    expect(row).toEqual({ g: 1, h: null });
    const entries = app.db.$client
      .prepare(
        "SELECT actor, object_id AS id, outcome, detail FROM audit_log WHERE action = 'instance.seed.rotate'",
      )
      .all();
    expect(entries).toEqual([
      {
        actor: "alice",
        id: String(web.id),
        outcome: "ok",
        detail: expect.stringContaining("generation 0 → 1"),
      },
    ]);
    // Nothing of the secret reaches the database or the audit log.
    const secret = rotated.path.split("/")[3]!;
    const dump = JSON.stringify(app.db.$client.prepare("SELECT * FROM audit_log").all());
    expect(dump).not.toContain(secret);
  });

  it("a restarted portal on the same data directory shows and serves the same URL (the key is kept beside the database)", async () => {
    const seed = await alice.instance.seed({ id: web.id });
    expect(fs.statSync(path.join(dir, "seed-key")).mode & 0o777).toBe(0o600);
    await server.close();
    app.db.$client.close();
    app = testApp(path.join(dir, "bridgehead.db"));
    server = await serveApp(app);
    const again = callerFor(app, "u-alice");
    expect((await again.instance.seed({ id: web.id })).path).toBe(seed.path);
    expect((await get(`${seed.path}meta-data`)).status).toBe(200);
  });
});
