// What a push may limit itself to (index.ts): pure decisions, from the last in-sync state to the new one.
import { describe, expect, it } from "vitest";
import { peerPlan, pushScope, type Synced } from "./push-scope";
import { net, PREFIX, port, state } from "./state.testing";
import { planOps } from "./types";

const synced = (desired: Synced["desired"]): Synced => ({ desired, sysctls: {}, networks: [], ports: [] });
const opts = { nodeNetns: "bhunode", guestPrefix: PREFIX };

describe("pushScope", () => {
  const base = state(
    [net(1), net(2)],
    [port(1, 1, 1), port(2, 2, 1), port(3, 2, 2, { guestIf: "eth1" }), port(4, 4, 2)],
  );

  it("limits a port change to its guest namespace, every port living there, their networks and links", () => {
    const d = structuredClone(base);
    d.ports[1]!.addresses = ["10.1.0.99/24"];
    const s = pushScope(synced(base), d, opts)!;
    expect([...s.changed]).toEqual([2]);
    expect(s.namespaces).toEqual([`${PREFIX}-i2`]);
    expect(s.desired.ports.map((p) => p.nicId)).toEqual([2, 3]);
    expect(s.desired.networks.map((n) => n.vnetId)).toEqual([1, 2]);
    expect(s.links.sort()).toEqual(["bhv2", "bhv3", "br1", "br2", "lo"]);
    expect([...s.qos]).toEqual([]);
  });

  it("includes a removed port's veth and namespace, and marks NICs that had QoS", () => {
    const withQos = structuredClone(base);
    withQos.ports[3]!.qos = { inboundAvgBps: 1_000_000 };
    const d = structuredClone(withQos);
    d.ports.pop();
    const s = pushScope(synced(withQos), d, opts)!;
    expect([...s.changed]).toEqual([4]);
    expect([...s.qos]).toEqual([4]);
    expect(s.namespaces).toEqual([`${PREFIX}-i4`]);
    expect(s.desired.ports).toEqual([]);
    expect(s.links).toContain("bhv4");
  });

  it("is node-wide when anything but ports changed, or a network is not a plain bridge", () => {
    const mtu = structuredClone(base);
    mtu.networks[0]!.mtu = 1400;
    expect(pushScope(synced(base), mtu, opts)).toBeUndefined();
    const routed = state([net(1, { driver: "routed" })], [port(1, 1, 1)]);
    const moved = structuredClone(routed);
    moved.ports[0]!.addresses = ["10.1.0.9/24"];
    expect(pushScope(synced(routed), moved, opts)).toBeUndefined();
  });
});

describe("peerPlan", () => {
  const vx = (peers: string[]) =>
    state([net(5, { driver: "vxlan", vni: 5005, vxlanPeers: peers })], [port(1, 1, 5)], {
      vtep: "198.18.0.1",
    });

  it("adds and removes only the changed peers' FDB entries, reading nothing", () => {
    const p = peerPlan(
      synced(vx(["198.18.0.2", "198.18.0.3"])),
      vx(["198.18.0.3", "198.18.0.4"]),
      "bhunode",
    )!;
    expect(planOps(p).map((o) => o.text)).toEqual([
      "bridge -n bhunode fdb del 00:00:00:00:00:00 dev vxlan5005 dst 198.18.0.2",
      "bridge -n bhunode fdb append 00:00:00:00:00:00 dev vxlan5005 dst 198.18.0.4",
    ]);
    expect(p.networks).toEqual([5]);
  });

  it("does not apply when anything else changed, or the network uses a multicast group", () => {
    const moved = vx(["198.18.0.2"]);
    moved.ports[0]!.mtu = 1400;
    expect(peerPlan(synced(vx([])), moved, "bhunode")).toBeUndefined();
    const group = (peers: string[]) => {
      const d = vx(peers);
      d.networks[0]!.vxlanGroup = "239.1.1.1";
      return d;
    };
    expect(peerPlan(synced(group([])), group(["198.18.0.2"]), "bhunode")).toBeUndefined();
  });
});
