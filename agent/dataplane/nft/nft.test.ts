// The nftables renderer and drift detector: golden scripts (reviewable under __golden__/), the
// invariants every script must keep, and how an observed table is compared with a rendered one.
import { describe, expect, it } from "vitest";
import { linkLocal, renderNft } from "../../../lib/nft/render";
import { net, port, state } from "../state.testing";
import {
  nftDrift,
  type ObservedNft,
  observedCounters,
  parseNftTable,
  recordSeen,
  withCounters,
} from "./apply";

const internal = net(77, { bridge: "br77", bridgeAddress: "10.77.0.1/24", subnet: "10.77.0.0/24" });
const external = net(78, { bridge: "br78", networkType: "external", bridgeAddress: undefined });
const routed = net(79, {
  bridge: "br79",
  driver: "routed",
  networkType: "external",
  bridgeAddress: undefined,
});
const golden = (name: string) => `./__golden__/${name}.nft`;

describe("renderNft: golden scripts", () => {
  it("an internal network with two guests: anti-spoofing in the bridge table, NAT in the inet table", async () => {
    const s = state([internal], [port(1, 1, 77, { addresses6: ["2001:db8:77::2"] }), port(2, 2, 77)]);
    await expect(renderNft(s).script).toMatchFileSnapshot(golden("internal-two-guests"));
  });

  it("mixed: an external network without anti-spoofing, an Ethernet-only lease, a routed port", async () => {
    const s = state(
      [internal, { ...external, antiSpoofing: false }, routed],
      [port(1, 1, 77, { addresses: [] }), port(2, 2, 78), port(3, 3, 79)],
    );
    await expect(renderNft(s).script).toMatchFileSnapshot(golden("mixed"));
  });

  it("nothing desired: both tables are deleted, none is created", async () => {
    const r = renderNft(state([], []));
    expect(r.tables).toEqual({ bridge: null, inet: null });
    await expect(r.script).toMatchFileSnapshot(golden("empty"));
  });
});

describe("renderNft: invariants", () => {
  const many = state(
    [internal, external],
    Array.from({ length: 30 }, (_, i) => port(i + 1, i + 1, i % 2 ? 77 : 78)),
  );
  const r = renderNft(many);

  it("each table is deleted and recreated inside the one script (one transaction)", () => {
    for (const f of ["bridge", "inet"]) {
      const lines = r.script.split("\n");
      const add = lines.indexOf(`table ${f} bridgehead`);
      expect(add).toBeGreaterThanOrEqual(0);
      expect(lines[add + 1]).toBe(`delete table ${f} bridgehead`);
    }
  });

  it("touches no table but its own", () => {
    const tables = [...r.script.matchAll(/^(?:delete )?table (\w+) (\S+)/gm)].map((m) => m[2]);
    expect(new Set(tables)).toEqual(new Set(["bridgehead"]));
  });

  it("anti-spoofing only drops or returns, and nothing in prerouting accepts before or after it", () => {
    const chain = (name: string) =>
      (new RegExp(`chain ${name} \\{\\n([\\s\\S]*?)\\n\\t\\}`).exec(r.script)?.[1] ?? "")
        .split("\n")
        .map((l) => l.trim());
    expect(chain("antispoof").length).toBeGreaterThan(5);
    expect(chain("antispoof").every((l) => l.endsWith(" drop") || l.endsWith(" return"))).toBe(true);
    expect(chain("prerouting").slice(1)).toEqual([
      'iifname "bhv*" iifname != @guest_ports drop',
      "iifname @spoof_checked jump antispoof",
    ]);
  });

  it("is deterministic, and the digest changes with the content", () => {
    expect(renderNft(many).script).toBe(r.script);
    const other = renderNft(state([internal], [port(1, 1, 77)]));
    expect(other.tables.bridge?.digest).not.toBe(r.tables.bridge?.digest);
  });

  it("the shape counts one rule per rendered rule line and one element per port", () => {
    expect(r.tables.bridge?.shape.sets.guest_ports).toBe(30);
    expect(r.tables.bridge?.shape.sets.port_mac).toBe(30);
    expect(r.tables.bridge?.shape.chains.prerouting).toBe(2);
    expect(r.tables.inet?.shape.chains.postrouting).toBe(1);
  });

  it("spells each IPv6 address once, whatever spelling the lease used", () => {
    const r6 = renderNft(
      state([internal], [port(1, 1, 77, { addresses6: ["2001:DB8::2", "2001:db8:0::2"] })]),
    );
    expect(r6.tables.bridge?.shape.sets.port_ip6).toBe(2); // link-local + 2001:db8::2
    expect(r6.script).toContain('"bhv1" . 0x20010db8000000000000000000000002');
  });

  it("routes between the node's internal networks with the real source (NETWORK_ID rules see it)", () => {
    const other = net(78, { bridge: "br78", bridgeAddress: "10.78.0.1/24", subnet: "10.78.0.0/24" });
    const nat = renderNft(
      state([internal, other], [port(1, 1, 77), port(2, 2, 78)]),
    ).tables.inet?.model.chains.find((c) => c.name === "postrouting")?.rules;
    expect(nat).toEqual([
      'ip saddr 10.77.0.0/24 ip daddr != { 10.77.0.0/24, 10.78.0.0/24 } oifname != "br77" masquerade',
      'ip saddr 10.78.0.0/24 ip daddr != { 10.77.0.0/24, 10.78.0.0/24 } oifname != "br78" masquerade',
    ]);
  });

  it("derives the guest's link-local address from its MAC (modified EUI-64)", () => {
    expect(linkLocal("02:00:0a:4d:00:02")).toBe("fe80::aff:fe4d:2");
  });
});

/** What `nft -j list table` would show for a rendered table, built from its shape; with
 * `recorded` (the default) it carries the seen_ chain our agent adds after a load. */
function observedFrom(r: ReturnType<typeof renderNft>, recorded = true): ObservedNft {
  const out: ObservedNft = { bridge: null, inet: null };
  for (const f of ["bridge", "inet"] as const) {
    const t = r.tables[f];
    if (!t) continue;
    const items = [
      { table: { family: f, name: "bridgehead", handle: 1 } },
      ...Object.entries(t.shape.sets).map(([name, n]) => ({
        set: {
          family: f,
          name,
          table: "bridgehead",
          handle: 2,
          elem: Array.from({ length: n }, (_, i) => i),
        },
      })),
      ...Object.keys(t.shape.chains).map((name) => ({
        chain: { family: f, table: "bridgehead", name, handle: 3 },
      })),
      ...Object.entries(t.shape.chains).flatMap(([chain, n]) =>
        Array.from({ length: n }, (_, i) => ({
          rule: {
            family: f,
            table: "bridgehead",
            chain,
            handle: 10 + i,
            expr: [{ counter: { packets: i, bytes: 9 } }],
          },
        })),
      ),
    ];
    const json = (extra: object[]) =>
      JSON.stringify({ nftables: [{ metainfo: { version: "1.0.6" } }, ...items, ...extra] });
    const bare = parseNftTable(json([]));
    const seen = { chain: { family: f, table: "bridgehead", name: `seen_${bare.normalHash}`, handle: 99 } };
    out[f] = recorded ? parseNftTable(json([seen])) : bare;
  }
  return out;
}

describe("nftDrift", () => {
  const desired = state([internal], [port(1, 1, 77), port(2, 2, 77)]);
  const r = renderNft(desired);

  it("finds nothing when the kernel shows what was rendered", () => {
    expect(nftDrift(r, observedFrom(r))).toEqual([]);
  });

  it("finds a missing table, a flushed chain, a lost set element and a foreign digest", () => {
    const o = observedFrom(r);
    expect(nftDrift(r, { ...o, inet: null })).toEqual(["table inet bridgehead is missing"]);
    const flushed = structuredClone(o);
    flushed.bridge!.shape.chains.antispoof = 0;
    expect(nftDrift(r, flushed)[0]).toMatch(/bridge bridgehead has chains, rules or set elements/);
    const lost = structuredClone(o);
    lost.bridge!.shape.sets.port_ip4 = 1;
    expect(nftDrift(r, lost)).toHaveLength(1);
    const old = observedFrom(renderNft(state([internal], [port(1, 1, 77)])));
    expect(nftDrift(r, old)[0]).toMatch(/holds another ruleset/);
  });

  it("finds a rule changed by hand (same counts) by the hash recorded right after loading", () => {
    const o = observedFrom(r);
    expect(o.bridge?.seen).toBe(o.bridge?.normalHash);
    const changed = structuredClone(o);
    changed.bridge!.normalHash = "0123456789abcdef"; // what another rule's JSON would hash to
    expect(nftDrift(r, changed)).toEqual(["table bridge bridgehead was changed by hand"]);
    expect(nftDrift(r, observedFrom(r, false))).toEqual([
      "table bridge bridgehead was not verified after its last load",
      "table inet bridgehead was not verified after its last load",
    ]);
  });

  it("records the loaded form in a seen_ chain, replacing an older record, and only when needed", () => {
    const bare = observedFrom(r, false);
    expect(recordSeen(bare)).toBe(
      `add chain bridge bridgehead seen_${bare.bridge?.normalHash}\nadd chain inet bridgehead seen_${bare.inet?.normalHash}\n`,
    );
    expect(recordSeen(observedFrom(r))).toBe("");
    const stale = structuredClone(observedFrom(r));
    stale.inet!.normalHash = "0123456789abcdef";
    expect(recordSeen(stale)).toBe(
      `delete chain inet bridgehead seen_${stale.inet?.seen}\nadd chain inet bridgehead seen_0123456789abcdef\n`,
    );
  });

  it("ignores handles, counter values and the seen_ chain", () => {
    const a = parseNftTable(
      '{"nftables":[{"rule":{"chain":"c","handle":4,"expr":[{"counter":{"packets":1,"bytes":2}}]}}]}',
    );
    const b = parseNftTable(
      '{"nftables":[{"rule":{"chain":"c","handle":9,"expr":[{"counter":{"packets":7,"bytes":8}}]}},{"chain":{"name":"seen_x"}}]}',
    );
    expect(a.normal).toBe(b.normal);
    expect(b.seen).toBe("x");
  });

  it("reads the named counters' values (not part of the drift hash)", () => {
    const read = (packets: number) =>
      parseNftTable(
        JSON.stringify({
          nftables: [
            {
              counter: {
                family: "bridge",
                name: "sg100_r2",
                table: "bridgehead",
                handle: 3,
                packets,
                bytes: packets * 60,
              },
            },
          ],
        }),
      );
    expect(read(5).counters).toEqual({ sg100_r2: { packets: 5, bytes: 300 } });
    expect(read(5).normalHash).toBe(read(9).normalHash);
    expect(observedCounters({ bridge: read(5), inet: null })).toEqual({
      sg100_r2: { packets: 5, bytes: 300 },
    });
  });

  it("starts the counters of a whole-table load from the values counted so far (not in the digest)", () => {
    const withGroup = renderNft({
      ...state([{ ...internal, securityGroupIds: [100] }], [port(1, 1, 77)]),
      securityGroups: [
        { sgId: 100, rules: [{ ruleId: 2, protocol: "TCP", direction: "INBOUND", ports: "22" }] },
      ],
    });
    const script = withCounters(withGroup.script, {
      sg100_r2: { packets: 5, bytes: 300 },
      gone: { packets: 1, bytes: 1 },
    });
    expect(script).toContain("\tcounter sg100_r2 {\n\t\tpackets 5 bytes 300\n\t}");
    expect(script.replace("\t\tpackets 5 bytes 300\n", "")).toBe(withGroup.script);
    expect(withCounters(withGroup.script, { sg100_r2: { packets: 0, bytes: 0 } })).toBe(withGroup.script);
  });

  it("asks to remove tables that are no longer needed", () => {
    expect(nftDrift(renderNft(state([], [])), observedFrom(r))).toEqual([
      "table bridge bridgehead is not needed any more",
      "table inet bridgehead is not needed any more",
    ]);
  });
});
