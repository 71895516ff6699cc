// Which established connections a security-group change cuts (pure part of ct-cut.ts): conntrack's
// listing read back, the NICs whose policy narrowed, the entries the new policy denies (and only
// those), and the exact `conntrack -R` lines. The kernel side is in sg-cut.kernel.test.ts.
import { describe, expect, it } from "vitest";
import type { DesiredSecurityGroup, DesiredState } from "../../../lib/wire";
import { net, port, state } from "../state.testing";
import { deleteLine, describeEntry, flowsToCut, narrowedPorts, parseConntrack, tupleLine } from "./ct-cut";

const LISTING = `ipv4     2 tcp      6 431999 ESTABLISHED src=10.77.0.3 dst=10.77.0.2 sport=40000 dport=5201 src=10.77.0.2 dst=10.77.0.3 sport=5201 dport=40000 [ASSURED] mark=0 use=1
ipv4     2 tcp      6 431999 ESTABLISHED src=10.77.0.3 dst=10.77.0.2 sport=40001 dport=22 src=10.77.0.2 dst=10.77.0.3 sport=22 dport=40001 [ASSURED] mark=0 use=1
ipv4     2 icmp     1 29 src=10.77.0.3 dst=10.77.0.2 type=8 code=0 id=77 src=10.77.0.2 dst=10.77.0.3 type=0 code=0 id=77 mark=0 use=1
ipv4     2 udp      17 29 src=10.77.0.2 dst=10.77.0.1 sport=68 dport=67 [UNREPLIED] src=10.77.0.1 dst=10.77.0.2 sport=67 dport=68 mark=0 use=1
ipv6     10 tcp      6 99 ESTABLISHED src=fd00:77::3 dst=fd00:77:0:0::2 sport=1000 dport=5201 [UNREPLIED] src=fd00:77::2 dst=fd00:77::3 sport=5201 dport=1000 mark=0 use=1
ipv4     2 tcp      6 99 ESTABLISHED src=192.0.2.1 dst=192.0.2.2 sport=1 dport=5201 [UNREPLIED] src=192.0.2.2 dst=192.0.2.1 sport=5201 dport=1 mark=0 use=1
ipv4     2 gre      47 29 src=10.77.0.3 dst=10.77.0.2 srckey=0x0 dstkey=0x0 src=10.77.0.2 dst=10.77.0.3 srckey=0x0 dstkey=0x0 mark=0 use=1
conntrack v1.4.7 (conntrack-tools): 7 flow entries have been shown.`;

const group = (inbound: string[]): DesiredSecurityGroup => ({
  sgId: 100,
  rules: [
    { ruleId: 1, protocol: "ALL", direction: "OUTBOUND" },
    ...inbound.map((ports, i) => ({
      ruleId: 10 + i,
      protocol: "TCP" as const,
      direction: "INBOUND" as const,
      ports,
    })),
  ],
});
/** Guests 1 (10.77.0.2) and 2 (10.77.0.3) on VNET 77 under group 100 (or the given groups). */
const desired = (inbound: string[], sgIds: number[] = [100]): DesiredState => ({
  ...state(
    [net(77, { bridge: "br77", bridgeAddress: "10.77.0.1/24", securityGroupIds: sgIds })],
    [1, 2].map((n) =>
      port(n, n, 77, { addresses: [`10.77.0.${n + 1}/24`], addresses6: [`fd00:77::${n + 1}`] }),
    ),
  ),
  securityGroups: [group(inbound)],
});

describe("conntrack cut", () => {
  it("reads the original direction of every entry of both families", () => {
    const e = parseConntrack(LISTING);
    expect(e).toHaveLength(7);
    expect(e[0]).toEqual({
      proto: "tcp",
      protonum: 6,
      src: "10.77.0.3",
      dst: "10.77.0.2",
      sport: 40000,
      dport: 5201,
      type: undefined,
      code: undefined,
      id: undefined,
    });
    expect(e[2]).toMatchObject({ proto: "icmp", type: 8, code: 0, id: 77 });
    expect(e[4]).toMatchObject({ src: "fd00:77::3", dport: 5201 });
    expect(describeEntry(e[4]!)).toBe("tcp [fd00:77::3]:1000 → [fd00:77:0:0::2]:5201");
  });

  it("a removed or changed rule narrows every port of the group; an added rule narrows none", () => {
    expect(narrowedPorts(desired(["5201", "22"]), desired(["22"]))).toEqual([1, 2]);
    expect(narrowedPorts(desired(["22"]), desired(["22", "5201"]))).toEqual([]);
    expect(narrowedPorts(desired(["22"]), desired(["22:23"]))).toEqual([1, 2]);
    // Detaching the default group turns filtering on; attaching it turns it off (nothing to cut).
    expect(narrowedPorts(desired(["22"], [0, 100]), desired(["22"]))).toEqual([1, 2]);
    expect(narrowedPorts(desired(["22"]), desired(["22"], [0, 100]))).toEqual([]);
    // Unknown baseline (agent restart): every filtered port is judged.
    expect(narrowedPorts(undefined, desired(["22"]))).toEqual([1, 2]);
    // A NIC's own group list changed.
    const own = desired(["22"]);
    own.ports[0]!.securityGroupIds = [101];
    expect(narrowedPorts(desired(["22"]), own)).toEqual([1]);
  });

  it("cuts exactly the flows the new policy denies, on either side, and keeps DHCP and foreign flows", () => {
    const cuts = flowsToCut(desired(["22"]), parseConntrack(LISTING), [1, 2]);
    expect(cuts.map((c) => `${describeEntry(c.entry)} (${c.reason})`)).toEqual([
      "tcp 10.77.0.3:40000 → 10.77.0.2:5201 (not allowed into NIC 1)",
      "icmp 10.77.0.3 → 10.77.0.2 type 8 (not allowed into NIC 1)",
      "tcp [fd00:77::3]:1000 → [fd00:77:0:0::2]:5201 (not allowed into NIC 1)",
      "gre 10.77.0.3 → 10.77.0.2 (not allowed into NIC 1)",
    ]);
    // Only the listed NICs are judged.
    expect(flowsToCut(desired(["22"]), parseConntrack(LISTING), [])).toEqual([]);
    // Outbound narrowed: guest 2 may only send TCP/22 out.
    const out = desired(["5201", "22"]);
    out.securityGroups = [
      { sgId: 100, rules: [{ ruleId: 2, protocol: "ALL", direction: "INBOUND" }] },
      { sgId: 101, rules: [{ ruleId: 3, protocol: "TCP", direction: "OUTBOUND", ports: "22" }] },
    ];
    out.ports[1]!.securityGroupIds = [101];
    out.ports[0]!.securityGroupIds = [100];
    const reasons = flowsToCut(out, parseConntrack(LISTING), [2]).map((c) => c.reason);
    expect(reasons).toEqual([
      "not allowed out of NIC 2",
      "not allowed out of NIC 2",
      "not allowed out of NIC 2",
      "not allowed out of NIC 2",
    ]);
  });

  it("deletes each entry by its exact tuple (ct-delete.py, or conntrack -R without python3)", () => {
    const e = parseConntrack(LISTING);
    expect(deleteLine(e[0]!)).toBe("-D -p tcp -s 10.77.0.3 -d 10.77.0.2 --sport 40000 --dport 5201");
    expect(deleteLine(e[2]!)).toBe(
      "-D -p icmp -s 10.77.0.3 -d 10.77.0.2 --icmp-type 8 --icmp-code 0 --icmp-id 77",
    );
    expect(deleteLine(e[6]!)).toBe("-D -p gre -s 10.77.0.3 -d 10.77.0.2");
    // ct-delete.py's input: the whole original tuple, GRE keys in the ports' place.
    expect(tupleLine(e[0]!)).toBe("6 10.77.0.3 10.77.0.2 40000 5201 - - -");
    expect(tupleLine(e[2]!)).toBe("1 10.77.0.3 10.77.0.2 - - 8 0 77");
    expect(tupleLine(e[4]!)).toBe("6 fd00:77::3 fd00:77:0:0::2 1000 5201 - - -");
    expect(tupleLine(e[6]!)).toBe("47 10.77.0.3 10.77.0.2 0 0 - - -");
  });

  it("a removed peering narrows the ports of both VNETs and cuts the flows between them only", () => {
    // Guest 1 (10.60.0.2) on VNET 60, guest 2 (10.61.0.3) on VNET 61, no security groups.
    const two = (peered: boolean): DesiredState =>
      state(
        [
          net(60, peered ? { peers: [{ vnetId: 61 }] } : {}),
          net(61, peered ? { peers: [{ vnetId: 60 }] } : {}),
        ],
        [port(1, 1, 60), port(2, 2, 61)],
      );
    expect(narrowedPorts(two(false), two(true))).toEqual([]);
    expect(narrowedPorts(two(true), two(false))).toEqual([1, 2]);
    // An agent that just started does not know what was in force: every port of the internal VNETs.
    expect(narrowedPorts(undefined, two(false))).toEqual([1, 2]);
    const listing =
      parseConntrack(`ipv4     2 tcp      6 431999 ESTABLISHED src=10.60.0.2 dst=10.61.0.3 sport=40000 dport=5361 src=10.61.0.3 dst=10.60.0.2 sport=5361 dport=40000 [ASSURED] mark=0 use=1
ipv4     2 icmp     1 29 src=10.60.0.2 dst=10.60.0.1 type=8 code=0 id=7 src=10.60.0.1 dst=10.60.0.2 type=0 code=0 id=7 mark=0 use=1
ipv4     2 tcp      6 431999 ESTABLISHED src=10.60.0.2 dst=198.51.100.7 sport=40001 dport=443 src=198.51.100.7 dst=198.18.0.1 sport=443 dport=40001 [ASSURED] mark=0 use=1`);
    const cuts = flowsToCut(two(false), listing, [1, 2]);
    expect(cuts.map((c) => `${describeEntry(c.entry)} (${c.reason})`)).toEqual([
      "tcp 10.60.0.2:40000 → 10.61.0.3:5361 (VNETs 60 and 61 are not peered)",
    ]);
    expect(flowsToCut(two(true), listing, [1, 2])).toEqual([]);
  });
});
