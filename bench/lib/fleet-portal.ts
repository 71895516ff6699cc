// The portal of `npm run bench -- fleet`, in its own process (the bench pins it to one core): the
// real server code (testApp on a migrated SQLite file, serveApp over HTTP) driven over IPC by
// bench/fleet.ts. Messages: { id, cmd, ... } → { id, ok, value | error }.
// argv[2]: database file, argv[3]: port.

import superjson from "superjson";
import { setVnetDriver } from "../../lab/cluster";
import { WIRE_VERSION } from "../../lib/wire";
import { testApp, userCaller } from "../../server/harness.testing";
import { serveApp } from "../../server/http";
import { compileDesiredState } from "../../server/services/nodes/desired";
import { stateForWire } from "../../server/services/nodes/wire-compat";

const [file, port] = [process.argv[2]!, Number(process.argv[3] ?? 0)];
const app = testApp(file);
const srv = await serveApp(app, port);
const admin = await userCaller(app, "fleet", "admin", 0);
const apiToken = (await admin.token.create({ name: "fleet bench", readOnly: true, expiresInDays: 1 })).token;

const br = await admin.vnet.create({
  name: "fleet-br",
  subnet: "10.80.0.0/16",
  gateway: "10.80.0.1",
  firstIp: "10.80.0.10",
  size: 20000,
});
const vx = await admin.vnet.create({
  name: "fleet-vx",
  subnet: "10.81.0.0/16",
  gateway: "",
  firstIp: "10.81.0.10",
  size: 20000,
});
setVnetDriver(app, vx.id, { driver: "vxlan", vni: 9100, mtu: 1500 });

const q = <T>(sql: string, ...args: unknown[]) => app.db.$client.prepare(sql).get(...args) as T;
let antiSpoofing = true;
let vxExtra = 0;

type Msg = { id: number; cmd: string; [k: string]: unknown };
const handlers: Record<string, (m: Msg) => unknown> = {
  /** Enrolls `count` nodes, each hosting an instance on the bridge VNET and (`vxlan`) one on the
   * VXLAN VNET; answers their join tokens. Before the agents connect (no stream to wake). */
  async addNodes(m) {
    const out: { id: number; token: string }[] = [];
    const base = q<{ n: number }>("SELECT count(*) AS n FROM nodes").n;
    for (let i = 0; i < (m.count as number); i++) {
      const n = await admin.node.create({ name: `fleet-${base + i + 1}` });
      const nics: { vnetId: number }[] = [{ vnetId: br.id }];
      if (m.vxlan) nics.push({ vnetId: vx.id });
      await admin.instance.create({ name: `f${base + i + 1}`, nodeId: n.id, nics });
      out.push({ id: n.id, token: n.joinToken });
    }
    return out;
  },
  /** One change every node of the bridge VNET must apply (anti-spoofing toggled). */
  async bridgeChange() {
    antiSpoofing = !antiSpoofing;
    const t0 = Date.now();
    await admin.vnet.update({ id: br.id, antiSpoofing });
    return { at: t0, responseMs: Date.now() - t0, revision: maxRev() };
  },
  /** A new VXLAN host (an instance on the VNET on node `nodeId`): every other host adds a peer. */
  async vxlanChange(m) {
    vxExtra++;
    const t0 = Date.now();
    await admin.instance.create({
      name: `fx${vxExtra}`,
      nodeId: m.nodeId as number,
      nics: [{ vnetId: vx.id }],
    });
    return { at: t0, responseMs: Date.now() - t0, revision: maxRev() };
  },
  /** Nodes (of `ids`) that reported revision ≥ `revision` applied. */
  applied(m) {
    return q<{ n: number }>(
      `SELECT count(*) AS n FROM nodes WHERE applied_revision >= desired_revision AND applied_revision >= ?${m.upTo ? " AND id <= ?" : ""}`,
      m.revision,
      ...(m.upTo ? [m.upTo] : []),
    ).n;
  },
  connected(m) {
    let n = 0;
    for (const id of m.ids as number[]) if (app.agents.isConnected(id)) n++;
    return n;
  },
  /** What one push of every node's current state weighs on the wire (the SSE data line is the
   * superjson of the state): after a change, each woken node is sent its whole state. */
  wireBytes(m) {
    let total = 0;
    let vxlanPeers = 0;
    const ids = m.ids as number[];
    for (const id of ids) {
      const s = compileDesiredState(app.db, id);
      if (!s) continue;
      total += Buffer.byteLength(
        JSON.stringify(superjson.serialize(stateForWire(s, WIRE_VERSION, app.tls.pins()))),
      );
      for (const n of s.networks) vxlanPeers += n.vxlanPeers?.length ?? 0;
    }
    return { total, perNode: Math.round(total / Math.max(1, ids.length)), vxlanPeers };
  },
  cpu() {
    const u = process.cpuUsage();
    return { cpuMicros: u.user + u.system, at: performance.now() };
  },
  info() {
    return { url: srv.url, apiToken, bridge: br.id, vxlan: vx.id };
  },
};
const maxRev = () => q<{ d: number }>("SELECT max(desired_revision) AS d FROM nodes").d;

process.on("message", (m: Msg) => {
  Promise.resolve()
    .then(() => handlers[m.cmd]!(m))
    .then(
      (value) => process.send!({ id: m.id, ok: true, value }),
      (err) => process.send!({ id: m.id, ok: false, error: String(err?.stack ?? err) }),
    );
});
process.send!({ id: 0, ok: true, value: "ready" });
process.once("SIGTERM", () => void srv.close().then(() => process.exit(0)));
