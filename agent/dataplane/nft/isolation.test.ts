// Isolation between VNETs in the rendered ruleset (pure): which interfaces each VNET may be routed
// to, and the golden script of three internal VNETs (two bridged, one routed) with one peering.
import { describe, expect, it } from "vitest";
import { renderNft } from "../../../lib/nft/render";
import type { DesiredState } from "../../../lib/wire";
import { net, port, state } from "../state.testing";

/** VNETs 10 and 11 bridged, 12 routed; 10 and 12 peered; 13 external. */
const three = (peered = true): DesiredState =>
  state(
    [
      net(10, peered ? { peers: [{ vnetId: 12, subnet: "10.12.0.0/24" }] } : {}),
      net(11),
      net(12, {
        driver: "routed",
        bridgeAddress: undefined,
        subnet: "10.12.0.0/24",
        ...(peered ? { peers: [{ vnetId: 10, subnet: "10.10.0.0/24" }] } : {}),
      }),
      net(13, { networkType: "external", bridgeAddress: undefined }),
    ],
    [port(1, 1, 10), port(2, 2, 11), port(3, 3, 12), port(4, 4, 12), port(5, 5, 13)],
  );

const sets = (d: DesiredState) =>
  Object.fromEntries((renderNft(d).tables.inet?.model.sets ?? []).map((s) => [s.name, s.elements]));

describe("renderNft: isolation between VNETs", () => {
  it("golden: three internal VNETs, two of them peered, and an external one", async () => {
    await expect(renderNft(three()).script).toMatchFileSnapshot("./__golden__/isolation-peered.nft");
  });

  it("a VNET may be routed to its own interfaces and its peers' only; external networks count as the outside", () => {
    const s = sets(three());
    expect(s.iso_ifs).toEqual(['"br10"', '"br11"', '"bhv3"', '"bhv4"']);
    expect(s.iso_reach_v10).toEqual(['"br10"', '"bhv3"', '"bhv4"']);
    expect(s.iso_reach_v11).toEqual(['"br11"']);
    expect(s.iso_reach_v12).toEqual(['"bhv3"', '"bhv4"', '"br10"']);
    expect(s.iso_from).toContain('"bhv4" : jump iso_v12');
    expect(s.iso_gw_reach).toEqual([
      '"br10" . 10.10.0.1',
      '"br11" . 10.11.0.1',
      '"bhv3" . 10.10.0.1',
      '"bhv4" . 10.10.0.1',
    ]);
  });

  it("without the peering each VNET reaches only itself", () => {
    const s = sets(three(false));
    expect(s.iso_reach_v10).toEqual(['"br10"']);
    expect(s.iso_reach_v12).toEqual(['"bhv3"', '"bhv4"']);
    expect(s.iso_gw_reach).toEqual(['"br10" . 10.10.0.1', '"br11" . 10.11.0.1']);
  });

  it("one internal VNET on the node needs no isolation chains", () => {
    const chains = renderNft(state([net(10)], [port(1, 1, 10)])).tables.inet?.model.chains.map((c) => c.name);
    expect(chains).toEqual(["postrouting"]);
  });

  it("VXLAN and 802.1Q VNETs are isolated by their bridge (their tunnel or VLAN port stays bridged L2 inside the VNET)", () => {
    const d = state(
      [
        net(20, { driver: "vxlan", vni: 6100, bridge: "bhbr20" }),
        net(21, { driver: "vlan", vlanId: 42, phydev: "ul0", bridge: "bhbr21" }),
      ],
      [port(1, 1, 20), port(2, 2, 21)],
    );
    const s = sets(d);
    expect(s.iso_ifs).toEqual(['"bhbr20"', '"bhbr21"']);
    expect(s.iso_reach_v20).toEqual(['"bhbr20"']);
    expect(s.iso_reach_v21).toEqual(['"bhbr21"']);
  });
});
