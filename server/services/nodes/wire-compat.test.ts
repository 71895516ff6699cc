// The shape each wire version gets: an agent's strict schema refuses keys its release did not know,
// so what came later is left out for it (the pins before wire 2, the networks' DHCP before wire 3).
import { describe, expect, it } from "vitest";
import { type DesiredState, WIRE_VERSION } from "../../../lib/wire";
import { stateForWire, wireMismatch } from "./wire-compat";

const state: DesiredState = {
  wireVersion: WIRE_VERSION,
  nodeId: 1,
  nodeName: "n1",
  revision: 7,
  networks: [
    {
      vnetId: 1,
      name: "lan",
      driver: "bridge",
      networkType: "internal",
      bridge: "bhbr1",
      mtu: 1500,
      bridgeAddress: "10.0.0.1/24",
      subnet: "10.0.0.0/24",
      securityGroupIds: [],
      bridgeAddresses6: ["fd00:1::1/64"],
      dhcp: {
        enabled: true,
        domain: "lan.internal",
        names: [{ name: "far", ip: "10.0.0.9" }],
        ipv6: { slaac: ["fd00:1::/64"], static: [] },
      },
    },
  ],
  ports: [
    {
      nicId: 1,
      instanceId: 1,
      instanceName: "a",
      vnetId: 1,
      guestIf: "eth0",
      mac: "02:00:0a:00:00:02",
      addresses: ["10.0.0.2/24"],
      addresses6: ["fd00:2::5"],
      static6: ["fd00:2::5/64"],
      defaultRoute: true,
      mtu: 1500,
    },
  ],
  securityGroups: [],
} as unknown as DesiredState;

describe("the desired state per wire version", () => {
  it("wire 5 gets the bridge's IPv6 addresses, router advertisements, DHCPv6 and static IPv6 leases", () => {
    const s = stateForWire(state, 5, ["pin"]);
    expect(s.networks[0]?.bridgeAddresses6).toEqual(["fd00:1::1/64"]);
    expect(s.networks[0]?.dhcp?.ipv6).toEqual({ slaac: ["fd00:1::/64"], static: [] });
    expect(s.ports[0]?.static6).toEqual(["fd00:2::5/64"]);
  });

  it("wire 4 gets the names of the network's guests on other nodes, and none of wire 5's IPv6", () => {
    const s = stateForWire(state, 4, ["pin"]);
    expect(s.networks[0]?.dhcp?.names).toEqual([{ name: "far", ip: "10.0.0.9" }]);
    expect(s.networks[0]).not.toHaveProperty("bridgeAddresses6");
    expect(s.networks[0]?.dhcp).not.toHaveProperty("ipv6");
    expect(s.ports[0]).not.toHaveProperty("static6");
    // Still what a wire-4 agent parses (the leased addresses6 stay: anti-spoofing needs them).
    expect(s.ports[0]?.addresses6).toEqual(["fd00:2::5"]);
  });

  it("wire 3 gets the networks' DHCP service and the pins, without the other nodes' names", () => {
    const s = stateForWire(state, 3, ["pin"]);
    expect(s.wireVersion).toBe(3);
    expect(s.networks[0]?.dhcp).toEqual({ enabled: true, domain: "lan.internal" });
    expect(s.serverPins).toEqual(["pin"]);
  });

  it("wire 2 gets the pins but no DHCP key; wire 1 neither", () => {
    const two = stateForWire(state, 2, ["pin"]);
    expect(two.networks[0]).not.toHaveProperty("dhcp");
    expect(two.serverPins).toEqual(["pin"]);
    const one = stateForWire(state, 1, ["pin"]);
    expect(one.networks[0]).not.toHaveProperty("dhcp");
    expect(one).not.toHaveProperty("serverPins");
    expect(one.networks[0]).toMatchObject({ bridge: "bhbr1", subnet: "10.0.0.0/24" });
  });

  it("speaks 1 to this release's version and names both ends otherwise", () => {
    expect(wireMismatch(1)).toBeNull();
    expect(wireMismatch(WIRE_VERSION)).toBeNull();
    expect(wireMismatch(WIRE_VERSION + 1)).toContain(`(1–${WIRE_VERSION})`);
  });
});
