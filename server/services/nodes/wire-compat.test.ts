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
      dhcp: { enabled: true, domain: "lan.internal", names: [{ name: "far", ip: "10.0.0.9" }] },
    },
  ],
  ports: [],
  securityGroups: [],
} as unknown as DesiredState;

describe("the desired state per wire version", () => {
  it("wire 4 gets the names of the network's guests on other nodes", () => {
    const s = stateForWire(state, 4, ["pin"]);
    expect(s.networks[0]?.dhcp?.names).toEqual([{ name: "far", ip: "10.0.0.9" }]);
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
