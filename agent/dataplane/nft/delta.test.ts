// Incremental nftables updates: what a one-rule security-group edit or a new port rewrites, and
// when only a whole replacement will do.
import { describe, expect, it } from "vitest";
import { renderNft } from "../../../lib/nft/render";
import type { DesiredState } from "../../../lib/wire";
import { net, port, state } from "../state.testing";
import { renderDelta } from "./delta";

const base = (ports = 3, inbound = "22", groups = [100]): DesiredState => ({
  ...state(
    [net(77, { bridge: "br77", subnet: "10.77.0.0/24", securityGroupIds: groups })],
    Array.from({ length: ports }, (_, i) => port(i + 1, i + 1, 77)),
  ),
  securityGroups: [
    {
      sgId: 100,
      rules: [
        { ruleId: 1, protocol: "ALL", direction: "OUTBOUND" },
        { ruleId: 2, protocol: "TCP", direction: "INBOUND", ports: inbound },
      ],
    },
    { sgId: 101, rules: [{ ruleId: 3, protocol: "UDP", direction: "INBOUND" }] },
  ],
});

describe("renderDelta", () => {
  it("is empty when nothing changed", () => {
    expect(renderDelta(renderNft(base()), renderNft(base()))).toBe("");
  });

  it("a one-rule edit rewrites one group chain and renames the digest chain, nothing else", async () => {
    const a = renderNft(base());
    const b = renderNft(base(3, "22,443"));
    const d = renderDelta(a, b);
    await expect(d).toMatchFileSnapshot("./__golden__/delta-one-rule.nft");
    expect(d).toContain("flush chain bridge bridgehead sg_100_in");
    expect(d).not.toContain("inet bridgehead sg_");
    expect(d).toContain(`add chain bridge bridgehead digest_${b.tables.bridge?.digest}`);
  });

  it("a new port adds its own set elements only (no set refilled, no chain)", () => {
    const d = renderDelta(renderNft(base(3)), renderNft(base(4))) ?? "";
    expect(d).toContain('add element bridge bridgehead guest_ports { "bhv4" }');
    // Slots number jump chains, not ports: the new port joins its network's slot 1.
    expect(d).toContain('add element bridge bridgehead sg_slot { "bhv4" : 0x00000001 }');
    expect(d).not.toContain("sg_in");
    expect(d).not.toMatch(/flush (chain|set|map)|bhv3/);
  });

  it("a port leaving deletes its own set elements only", () => {
    const d = renderDelta(renderNft(base(4)), renderNft(base(3))) ?? "";
    expect(d).toContain('delete element bridge bridgehead guest_ports { "bhv4" }');
    // A map element goes by its key.
    expect(d).toContain('delete element bridge bridgehead sg_slot { "bhv4" }');
    expect(d).not.toMatch(/flush (chain|set|map)|add element/);
  });

  it("a new group, a chain or a whole table appearing needs a whole replacement", () => {
    expect(renderDelta(renderNft(base()), renderNft(base(3, "22", [100, 101])))).toBeUndefined();
    expect(renderDelta(renderNft(state([], [])), renderNft(base()))).toBeUndefined();
    expect(renderDelta(renderNft(base(3, "22", [])), renderNft(base()))).toBeUndefined();
  });
});
