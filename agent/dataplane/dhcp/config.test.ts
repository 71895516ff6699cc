// What one VNET's dnsmasq is given, as pure functions: host entries only for this node's ports,
// names for every guest of the network (also those on other nodes), and the account it serves as.
import { describe, expect, it } from "vitest";
import { net, port } from "../state.testing";
import { dhcpFiles, dhcpNetworks, dhcpPaths, dnsmasqArgs, pickDnsmasqUser } from "./config";
import { parseLeases } from "./supervisor";

const network = net(7, {
  bridge: "br7",
  bridgeAddress: "10.7.0.1/24",
  subnet: "10.7.0.0/24",
  dhcp: {
    enabled: true,
    domain: "lab.example",
    names: [
      { name: "far", ip: "10.7.0.50", ip6: "2001:db8::50" },
      { name: "v6only", ip6: "2001:db8::51" },
    ],
  },
});

describe("dnsmasq's files and command line of a VNET", () => {
  it("leases this node's ports and names the other nodes' guests without leasing them", () => {
    const [n] = dhcpNetworks([network]);
    const files = dhcpFiles(n!, [port(1, 1, 7, { instanceName: "Web 1", addresses: ["10.7.0.11/24"] })]);
    expect(files.hosts.trim().split("\n")).toHaveLength(1);
    expect(files.hosts).toMatch(/,10\.7\.0\.11,web-1\n$/);
    expect(files.names.split("\n").filter(Boolean)).toEqual([
      "10.7.0.11 web-1.lab.example web-1",
      "10.7.0.50 far.lab.example far",
      "2001:db8::50 far.lab.example far",
      "2001:db8::51 v6only.lab.example v6only",
    ]);
  });

  it("serves as Debian's dnsmasq user when there is one, else nobody, never root", () => {
    const group = "root:x:0:\nnogroup:x:65534:\n";
    const passwd = "root:x:0:0::/root:/bin/sh\nnobody:x:65534:65534::/nonexistent:/usr/sbin/nologin\n";
    expect(pickDnsmasqUser(passwd, group)).toEqual({ user: "nobody", group: "nogroup" });
    expect(
      pickDnsmasqUser(`${passwd}dnsmasq:x:999:65534:dnsmasq:/var/lib/misc:/usr/sbin/nologin\n`, group),
    ).toEqual({ user: "dnsmasq", group: "nogroup" });
    expect(pickDnsmasqUser("root:x:0:0::/root:/bin/sh\n", group)).toBeUndefined();
    const [n] = dhcpNetworks([network]);
    const args = dnsmasqArgs(n!, dhcpPaths("/run/x", 7), { user: "nobody", group: "nogroup" });
    expect(args).toContain("--user=nobody");
    expect(args).toContain("--group=nogroup");
    expect(args.join(" ")).not.toMatch(/--user=root|--group=root/);
  });

  it("reads dnsmasq's lease file, skipping what is not a lease line", () => {
    const text = [
      "1765000000 02:00:0a:07:00:0b 10.7.0.11 web-1 01:02:00:0a:07:00:0b",
      "0 02:00:0a:07:00:0c 10.7.0.12 * *",
      "duid 00:01:00:01:2c:aa",
      "",
    ].join("\n");
    expect(parseLeases(7, text)).toEqual([
      { vnetId: 7, mac: "02:00:0a:07:00:0b", ip: "10.7.0.11", expires: 1765000000 },
      { vnetId: 7, mac: "02:00:0a:07:00:0c", ip: "10.7.0.12", expires: 0 },
    ]);
  });

  it("advertises SLAAC prefixes, leases static IPv6 by MAC over DHCPv6, and sends MTU and DNS", () => {
    const dual = {
      ...network,
      bridgeAddresses6: ["2001:db8:7::1/64", "2001:db8:8::1/64"],
      dhcp: { ...network.dhcp!, ipv6: { slaac: ["2001:db8:7::/64"], static: ["2001:db8:8::/64"] } },
    };
    const [n] = dhcpNetworks([dual]);
    const args = dnsmasqArgs(n!, dhcpPaths("/run/x", 7), { user: "nobody", group: "nogroup" });
    expect(args).toEqual(
      expect.arrayContaining([
        "--enable-ra",
        `--ra-param=br7,mtu:${network.mtu},0`,
        "--dhcp-range=set:v7,2001:db8:7::,ra-only,64,3600",
        "--dhcp-range=set:v7,2001:db8:8::,static,64,3600",
        "--dhcp-option=option6:dns-server,[2001:db8:7::1]",
        "--dhcp-option=option6:domain-search,lab.example",
      ]),
    );
    const files = dhcpFiles(n!, [
      port(1, 1, 7, {
        instanceName: "a",
        addresses: ["10.7.0.11/24"],
        addresses6: ["2001:db8:7::ff:fe0a:70b", "2001:db8:8::20"],
        static6: ["2001:db8:8::20/64"],
      }),
      port(2, 2, 7, {
        instanceName: "b",
        addresses: [],
        addresses6: ["2001:db8:8::21"],
        static6: ["2001:db8:8::21/64"],
      }),
    ]);
    // Only the static address is leased; both resolve.
    expect(
      files.hosts
        .split("\n")
        .filter(Boolean)
        .map((l) => l.replace(/^[^,]+,/, "")),
    ).toEqual(["10.7.0.11,[2001:db8:8::20],a", "[2001:db8:8::21],b"]);
    expect(files.names).toContain("2001:db8:7::ff:fe0a:70b a.lab.example a\n");
    expect(files.names).toContain("2001:db8:8::21 b.lab.example b\n");
    // Without an IPv6 address on the bridge there is nothing to serve from: IPv4 only.
    const [plain] = dhcpNetworks([{ ...dual, bridgeAddresses6: undefined }]);
    expect(dnsmasqArgs(plain!, dhcpPaths("/run/x", 7), { user: "nobody", group: "nogroup" })).not.toContain(
      "--enable-ra",
    );
  });
});
