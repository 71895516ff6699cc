import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { cloudInitNetworkConfig, contextVariables, gatewayNic, guestMtu, resolveContext } from "./context";

describe("guest context", () => {
  it("resolves NIC > range > VNET attribute by attribute, merging custom keys", () => {
    const vnet = { gateway: "10.0.0.1", dns: ["10.0.0.1"], guestMtu: 1500, custom: { A: "1", B: "1" } };
    const range = { dns: ["1.1.1.1"], custom: { B: "2" } };
    const nic = { guestMtu: 1400, custom: { C: "3" } };
    expect(resolveContext(vnet, range, nic)).toEqual({
      gateway: "10.0.0.1",
      dns: ["1.1.1.1"],
      guestMtu: 1400,
      custom: { A: "1", B: "2", C: "3" },
    });
    expect(resolveContext(vnet, null, undefined)).toEqual(vnet);
  });
  it("the last layer that sets an attribute wins, for any layering", () => {
    const layer = fc.record({ guestMtu: fc.option(fc.integer({ min: 576, max: 9000 }), { nil: undefined }) });
    fc.assert(
      fc.property(fc.array(layer, { maxLength: 4 }), (ls) => {
        const want = [...ls].reverse().find((l) => l.guestMtu !== undefined)?.guestMtu;
        return resolveContext(...ls).guestMtu === want;
      }),
    );
  });
  it("guest MTU: the context's, else the VNET's, minus 50 on VXLAN", () => {
    expect(guestMtu({ driver: "bridge", mtu: 1500, context: {} })).toBe(1500);
    expect(guestMtu({ driver: "vxlan", mtu: 1500, context: {} })).toBe(1450);
    expect(guestMtu({ driver: "vxlan", mtu: 9000, context: { guestMtu: 8000 } })).toBe(8000);
    expect(guestMtu({ driver: "vxlan", mtu: 1500, context: {} }, { guestMtu: 1300 })).toBe(1300);
  });
  it("GATEWAY_IFACE: the NIC whose context says so, else the first", () => {
    expect(
      gatewayNic([
        { idx: 1, context: {} },
        { idx: 0, context: {} },
      ]),
    ).toBe(0);
    expect(
      gatewayNic([
        { idx: 0, context: {} },
        { idx: 1, context: { defaultRoute: true } },
      ]),
    ).toBe(1);
    expect(gatewayNic([])).toBeNull();
  });
  it("variables name address, mask, network, gateways only on the gateway NIC, DNS, MTU and custom keys", () => {
    const n = {
      idx: 0,
      mac: "02:00:0a:00:00:05",
      ip: "10.0.0.5",
      ip6: "2001:db8::aff:fe00:5",
      prefix: 24,
      prefix6: 64,
      context: {
        subnet: "10.0.0.0/24",
        gateway: "10.0.0.1",
        gateway6: "2001:db8::1",
        dns: ["10.0.0.1"],
        guestMtu: 1450,
        custom: { NTP: "10.0.0.1" },
      },
    };
    expect(contextVariables(n, true)).toEqual({
      MAC: "02:00:0a:00:00:05",
      IP: "10.0.0.5",
      MASK: "255.255.255.0",
      NETWORK_ADDRESS: "10.0.0.0",
      GATEWAY: "10.0.0.1",
      IP6: "2001:db8::aff:fe00:5",
      GATEWAY6: "2001:db8::1",
      DNS: "10.0.0.1",
      MTU: "1450",
      NTP: "10.0.0.1",
    });
    expect(contextVariables(n, false)).not.toHaveProperty("GATEWAY");
    const ci = cloudInitNetworkConfig([n]);
    expect(ci.ethernets.eth0).toMatchObject({
      addresses: ["10.0.0.5/24", "2001:db8::aff:fe00:5/64"],
      routes: [
        { to: "default", via: "10.0.0.1" },
        { to: "::/0", via: "2001:db8::1" },
      ],
      mtu: 1450,
    });
  });
});
