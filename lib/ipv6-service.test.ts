import { describe, expect, it } from "vitest";
import { ipv6Service } from "./ipv6-service";

describe("the IPv6 a node serves on a VNET's bridge", () => {
  it("advertises a dual-stack range's SLAAC prefixes, from the IPv6 gateway or <prefix>::1", () => {
    expect(
      ipv6Service([{ globalPrefix: "2001:db8:5::/64", ulaPrefix: "fd00:5::", size: 10 }], "2001:db8:5::fe"),
    ).toEqual({
      bridgeAddresses6: ["2001:db8:5::fe/64", "fd00:5::1/64"],
      slaac: ["2001:db8:5::/64", "fd00:5::/64"],
      static: [],
    });
  });

  it("serves a static range's prefix with DHCPv6, never from an address it leases", () => {
    expect(ipv6Service([{ ip6: "2001:db8:6::100", prefixLength6: 64, size: 16 }])).toEqual({
      bridgeAddresses6: ["2001:db8:6::1/64"],
      slaac: [],
      static: ["2001:db8:6::/64"],
    });
    // ::1 is leased and no gateway is set: nothing to answer from, the prefix is not served.
    expect(ipv6Service([{ ip6: "2001:db8:6::", prefixLength6: 64, size: 16 }]).static).toEqual([]);
    // The gateway, outside the range, is.
    expect(ipv6Service([{ ip6: "2001:db8:6::", prefixLength6: 64, size: 16 }], "2001:db8:6::ffff")).toEqual({
      bridgeAddresses6: ["2001:db8:6::ffff/64"],
      slaac: [],
      static: ["2001:db8:6::/64"],
    });
  });

  it("serves each prefix once, SLAAC before static, and no IPv4-only or too-short prefix", () => {
    const s = ipv6Service([
      { size: 5 },
      { globalPrefix: "2001:db8:7::/64", size: 5 },
      { globalPrefix: "2001:db8:7::/64", size: 5 },
      { ip6: "2001:db8:8::10", prefixLength6: 64, size: 5 },
      { ip6: "2001:db8:9::10", prefixLength6: 48, size: 5 },
    ]);
    expect(s).toEqual({
      bridgeAddresses6: ["2001:db8:7::1/64", "2001:db8:8::1/64"],
      slaac: ["2001:db8:7::/64"],
      static: ["2001:db8:8::/64"],
    });
  });
});
