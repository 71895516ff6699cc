// Explain A→B against the kernel, end to end through the server: instances A and B on VNET "web"
// and C on VNET "db", on one node; random outbound groups on A and inbound groups on B (fast-check,
// fixed seed) written through sg.update, the node's desired state compiled by the server and
// applied by the agent's dataplane. Then real TCP connects, UDP datagrams and pings from A's
// namespace to B and C; every probe's kernel outcome must be sg.explainPath's verdict — isolation
// between the unpeered VNETs included, and after peering them. Everything here starts with `bht<pid>y`.
import fc from "fast-check";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeKernel } from "../agent/dataplane/kernel-guard.testing";
import { ping, probe, serveProbes, sgLab } from "../agent/dataplane/sg.testing";
import type { SgRuleInput } from "../lib/sg";
import type { App } from "../server/app";
import { testApp, userCaller } from "../server/harness.testing";
import { compileDesiredState } from "../server/services/nodes/desired";

const lab = sgLab("y");
const SEED = 20261204;
const SETS = 5;
const TCP_PORTS = [22, 80, 443];
const UDP_PORTS = [53, 443];

const portsArb = fc.constantFrom("22", "80", "443", "22,443", "53", "20:90", "53,80", "400:500");
const ruleArb = (direction: "INBOUND" | "OUTBOUND") =>
  fc.record({
    protocol: fc.constantFrom("ALL", "TCP", "TCP", "UDP", "ICMP"),
    direction: fc.constant(direction),
    range: fc.option(portsArb, { nil: undefined }),
    // An address span that holds the other end, or one that does not.
    span: fc.option(fc.constantFrom("peer", "elsewhere"), { nil: undefined }),
  });
const setArb = fc.record({
  out: fc.array(ruleArb("OUTBOUND"), { minLength: 1, maxLength: 3 }),
  in: fc.array(ruleArb("INBOUND"), { minLength: 1, maxLength: 3 }),
});
type Raw = { protocol: string; direction: "INBOUND" | "OUTBOUND"; range?: string; span?: string };

/** Generated rules as the editor would submit them, duplicates dropped. */
function rules(raw: Raw[], peer: string): SgRuleInput[] {
  const seen = new Set<string>();
  return raw.flatMap((r) => {
    const ported = r.protocol === "TCP" || r.protocol === "UDP";
    const rule: SgRuleInput = {
      protocol: r.protocol as SgRuleInput["protocol"],
      direction: r.direction,
      ...(ported && r.range ? { range: r.range } : {}),
      ...(r.span === "peer"
        ? { ip: peer, size: 1 }
        : r.span === "elsewhere"
          ? { ip: "192.0.2.0", size: 256 }
          : {}),
    };
    const key = JSON.stringify(rule);
    if (seen.has(key)) return [];
    seen.add(key);
    return [rule];
  });
}

await describeKernel("explain A→B agrees with the kernel", () => {
  let app: App;
  let admin: Awaited<ReturnType<typeof userCaller>>;
  let nodeId = 0;
  const nic = { a: 0, b: 0, c: 0 };
  const inst = { a: 0, b: 0, c: 0 };
  const ip = { a: "10.93.0.10", b: "10.93.0.11", c: "10.94.0.10" };
  let vnets = { web: 0, db: 0 };
  let groups = { out: 0, in: 0 };

  const apply = async () => {
    const desired = compileDesiredState(app.db, nodeId);
    if (!desired) throw new Error(`node ${nodeId} vanished`);
    const r = await lab.dp.reconcile(desired);
    expect(r.error).toBeUndefined();
  };

  beforeAll(async () => {
    await lab.purge();
    app = testApp();
    admin = await userCaller(app, "alice", "admin", 0);
    nodeId = (await admin.node.create({ name: "node1" })).id;
    const web = await admin.vnet.create({
      name: "web",
      subnet: "10.93.0.0/24",
      gateway: "10.93.0.1",
      firstIp: "10.93.0.10",
      size: 10,
    });
    const db = await admin.vnet.create({
      name: "db",
      subnet: "10.94.0.0/24",
      gateway: "10.94.0.1",
      firstIp: "10.94.0.10",
      size: 10,
    });
    vnets = { web: web.id, db: db.id };
    for (const [k, vnetId] of [
      ["a", web.id],
      ["b", web.id],
      ["c", db.id],
    ] as const) {
      const i = await admin.instance.create({ name: `vm-${k}`, nodeId, nics: [{ vnetId, ip: ip[k] }] });
      inst[k] = i.id;
      nic[k] = i.nics[0]!.nicId as number;
    }
    const out = await admin.sg.create({ name: "a-out", rules: [] });
    const inb = await admin.sg.create({ name: "b-in", rules: [] });
    groups = { out: out.id, in: inb.id };
    await admin.sg.setNic({ nicId: nic.a, sgId: out.id, attached: true });
    await admin.sg.setNic({ nicId: nic.b, sgId: inb.id, attached: true });
    await admin.sg.setNic({ nicId: nic.c, sgId: inb.id, attached: true });
    for (const v of [web.id, db.id]) await admin.sg.setVnet({ vnetId: v, sgId: 0, attached: false });
    await apply();
    await serveProbes(lab, lab.g(inst.b), TCP_PORTS, UDP_PORTS, [ip.b]);
    await serveProbes(lab, lab.g(inst.c), TCP_PORTS, UDP_PORTS, [ip.c]);
  });
  afterAll(() => lab.purge());

  type Case = { what: string; to: "b" | "c"; protocol: "tcp" | "udp" | "icmp"; port?: number };
  const cases = (to: "b" | "c"): Case[] => [
    ...TCP_PORTS.map((port) => ({ what: `tcp ${to}:${port}`, to, protocol: "tcp" as const, port })),
    ...UDP_PORTS.map((port) => ({ what: `udp ${to}:${port}`, to, protocol: "udp" as const, port })),
    { what: `ping ${to}`, to, protocol: "icmp" as const },
  ];
  const kernel = async (c: Case, timeoutS = 1): Promise<boolean> =>
    c.protocol === "icmp"
      ? ping(lab.g(inst.a), ip[c.to], ip.a)
      : ((
          await probe(
            lab.g(inst.a),
            [{ proto: c.protocol, src: ip.a, dst: ip[c.to], port: c.port! }],
            timeoutS,
          )
        )[0] ?? false);
  const verdict = async (c: Case) =>
    (
      await admin.sg.explainPath({
        fromNicId: nic.a,
        toNicId: nic[c.to],
        protocol: c.protocol,
        port: c.port,
        ...(c.protocol === "icmp" ? { icmpType: 8 } : {}),
      })
    ).verdict;

  /** Every case: the explanation, then the kernel (a probe expected through gets a second, slower try). */
  async function compare(label: string, all: Case[]) {
    const mismatches: string[] = [];
    const want = await Promise.all(all.map(verdict));
    const got = await Promise.all(all.map((c) => kernel(c)));
    await Promise.all(
      all.map(async (c, i) => {
        if (want[i] === "accept" && !got[i]) got[i] = await kernel(c, 2);
      }),
    );
    all.forEach((c, i) => {
      if ((want[i] === "accept") !== got[i])
        mismatches.push(`${label}: ${c.what} explain=${want[i]} kernel=${got[i] ? "through" : "dropped"}`);
    });
    return { mismatches, accepted: want.filter((v) => v === "accept").length };
  }

  it(`for ${SETS} random pairs of groups (seed ${SEED}), A→B and A→C on the kernel are what explain says`, async () => {
    const mismatches: string[] = [];
    let probes = 0;
    let accepted = 0;
    let isolatedAccepted = 0;
    for (const [n, set] of fc.sample(setArb, { seed: SEED, numRuns: SETS }).entries()) {
      const outRules = rules(set.out, ip.b);
      const inRules = rules(set.in, ip.a);
      await admin.sg.update({ id: groups.out, name: "a-out", rules: outRules });
      await admin.sg.update({ id: groups.in, name: "b-in", rules: inRules });
      await apply();
      const label = `set ${n} out=${JSON.stringify(outRules)} in=${JSON.stringify(inRules)}`;
      const same = await compare(label, cases("b"));
      // C is on "db", not peered with "web": isolation drops everything, whatever the groups say.
      const other = await compare(`${label} (unpeered)`, cases("c"));
      mismatches.push(...same.mismatches, ...other.mismatches);
      probes += 2 * cases("b").length;
      accepted += same.accepted;
      isolatedAccepted += other.accepted;
      console.info(
        `[explain-path-vs-kernel] set ${n}: ${same.accepted}/${cases("b").length} A→B expected through`,
      );
    }
    expect(mismatches).toEqual([]);
    expect(isolatedAccepted).toBe(0);
    // Both outcomes are represented.
    expect(accepted).toBeGreaterThan(0);
    expect(accepted).toBeLessThan(probes / 2);
  }, 180_000);

  it("once web and db are peered, A→C follows the groups like A→B", async () => {
    await admin.sg.update({
      id: groups.out,
      name: "a-out",
      rules: [
        { protocol: "TCP", direction: "OUTBOUND", range: "22,80" },
        { protocol: "ICMP", direction: "OUTBOUND" },
      ],
    });
    await admin.sg.update({
      id: groups.in,
      name: "b-in",
      rules: [
        { protocol: "TCP", direction: "INBOUND", range: "22" },
        { protocol: "ICMP", direction: "INBOUND" },
      ],
    });
    await admin.peering.create({ vnetA: vnets.web, vnetB: vnets.db });
    await apply();
    const { mismatches, accepted } = await compare("peered", cases("c"));
    expect(mismatches).toEqual([]);
    // tcp 22 and ping pass; 80 leaves A but B's group stops it; the rest never leaves A.
    expect(accepted).toBe(2);
  });
});
