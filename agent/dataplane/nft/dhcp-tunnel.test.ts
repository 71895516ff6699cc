// A VXLAN VNET with DHCP: the rendered bridge table drops the node's DHCP offers, DHCPv6 replies and
// router advertisements on the way into the VXLAN device, so another node's guests never get them;
// VNETs without DHCP or without a tunnel render no such chain (their tables stay as they were).
import { describe, expect, it } from "vitest";
import { renderNft } from "../../../lib/nft/render";
import { net, port, state } from "../state.testing";

const dhcp = { enabled: true, domain: "x.internal" };
const vx = (over = {}) => net(5, { driver: "vxlan", vni: 5005, subnet: "10.5.0.0/24", dhcp, ...over });

describe("DHCP never crosses a VXLAN tunnel", () => {
  it("drops the node's DHCP and RA towards the VXLAN device of a DHCP-served VNET", () => {
    const script = renderNft(state([vx()], [port(1, 1, 5)])).script;
    expect(script).toContain("type filter hook output priority -300; policy accept;");
    expect(script).toContain('oifname { "vxlan5005" } ether type ip udp sport 67 udp dport 68 drop');
    expect(script).toContain('oifname { "vxlan5005" } ether type ip6 icmpv6 type nd-router-advert drop');
  });
  it("renders no output chain without DHCP or without a tunnel", () => {
    for (const n of [vx({ dhcp: undefined }), net(5, { subnet: "10.5.0.0/24", dhcp })])
      expect(renderNft(state([n], [port(1, 1, 5)])).script).not.toContain("hook output");
  });
});
