// What one VNET's dnsmasq is told, as pure functions of the node's desired state: the command line
// (fixed for the life of the process) and the two files it rereads on SIGHUP (DHCP host entries and
// DNS names), so a change of ports never restarts the server and never drops a lease.
import { DEFAULT_LEASE_SECONDS, dnsLabel } from "../../../lib/dns";
import type { DesiredNetwork, DesiredPort } from "../../../lib/wire";

/** DHCP and DNS of one network as the agent serves it. */
export interface DhcpNetwork {
  vnetId: number;
  bridge: string;
  mtu: number;
  /** Gateway address on the bridge, e.g. 10.0.0.1 (also the DNS server the guests are given). */
  gateway: string;
  /** Network address and netmask of the subnet. */
  network: string;
  netmask: string;
  domain: string;
  leaseSeconds: number;
  /** Upstream resolvers; empty: the node's own (/etc/resolv.conf). */
  upstreams: string[];
  /** The network's guests on other nodes: named in DNS here, leased by their own node. */
  names: { name: string; ip?: string; ip6?: string }[];
  /** IPv6 on the bridge: router advertisements for the SLAAC prefixes, DHCPv6 for the static ones
   * (CIDRs), and the node's address guests are given as DNS server. Absent: IPv4 only. */
  v6?: { dns: string; slaac: string[]; static: string[] };
}

export interface DhcpFiles {
  /** --dhcp-hostsfile: MAC,IP,hostname per leased port. */
  hosts: string;
  /** --addn-hosts: IP name.domain name per lease (A and PTR). */
  names: string;
}

function maskOf(prefix: number): string {
  const m = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return [24, 16, 8, 0].map((s) => (m >>> s) & 255).join(".");
}

/** A DNS label from an instance name (the one rule of lib/dns.ts). */
export const hostLabel = (name: string) => dnsLabel(name);

/** The IPv6 service of a network: only with an address of the node on the bridge to serve from
 * (dnsmasq ties a range to the interface holding an address in it). */
function v6Of(n: DesiredNetwork): Pick<DhcpNetwork, "v6"> {
  const v6 = n.dhcp?.ipv6;
  const dns = n.bridgeAddresses6?.[0]?.split("/")[0];
  if (!v6 || !dns || v6.slaac.length + v6.static.length === 0) return {};
  return { v6: { dns, slaac: v6.slaac, static: v6.static } };
}

/** The networks of the state that get a DHCP/DNS server on this node: those with dhcp on, a gateway
 * address on the bridge and a subnet. */
export function dhcpNetworks(networks: DesiredNetwork[]): DhcpNetwork[] {
  const out: DhcpNetwork[] = [];
  for (const n of networks) {
    if (!n.dhcp?.enabled || !n.bridgeAddress || !n.subnet) continue;
    const [gateway] = n.bridgeAddress.split("/");
    const [network, len] = n.subnet.split("/");
    if (!gateway || !network || len === undefined) continue;
    out.push({
      vnetId: n.vnetId,
      bridge: n.bridge,
      mtu: n.mtu,
      gateway,
      network,
      netmask: maskOf(Number(len)),
      domain: n.dhcp.domain,
      leaseSeconds: n.dhcp.leaseSeconds ?? DEFAULT_LEASE_SECONDS,
      upstreams: n.dhcp.upstreams ?? [],
      names: n.dhcp.names ?? [],
      ...v6Of(n),
    });
  }
  return out;
}

/** The host entries of one network (every port of the VNET on this node) and its names (those
 * ports and the network's guests on other nodes). */
export function dhcpFiles(net: DhcpNetwork, ports: DesiredPort[]): DhcpFiles {
  const hosts: string[] = [];
  const names: string[] = [];
  const mine = ports.filter((p) => p.vnetId === net.vnetId).sort((a, b) => a.nicId - b.nicId);
  for (const p of mine) {
    const label = hostLabel(p.instanceName);
    const [v4] = p.addresses;
    const ip = v4?.split("/")[0];
    // DHCPv6 leases static addresses only (SLAAC ones the guest makes itself from the RA's prefix).
    const v6 = net.v6 ? (p.static6 ?? []).map((c) => `[${c.split("/")[0]}]`) : [];
    if (ip || v6.length) hosts.push([p.mac, ...(ip ? [ip] : []), ...v6, label].join(","));
    if (ip) names.push(`${ip} ${label}.${net.domain} ${label}`);
    for (const a of p.addresses6 ?? []) names.push(`${a} ${label}.${net.domain} ${label}`);
  }
  // Guests on other nodes: a name, never a host entry (their own node's server leases them).
  for (const r of net.names) {
    for (const a of [r.ip, r.ip6]) if (a) names.push(`${a} ${r.name}.${net.domain} ${r.name}`);
  }
  return { hosts: hosts.map((l) => `${l}\n`).join(""), names: names.map((l) => `${l}\n`).join("") };
}

export interface DhcpPaths {
  dir: string;
  hosts: string;
  names: string;
  leases: string;
  pid: string;
}

export function dhcpPaths(stateDir: string, vnetId: number): DhcpPaths {
  const dir = `${stateDir}/vnet${vnetId}`;
  return {
    dir,
    hosts: `${dir}/hosts`,
    names: `${dir}/names`,
    leases: `${dir}/leases`,
    pid: `${dir}/dnsmasq.pid`,
  };
}

/** The unprivileged account dnsmasq serves as. */
export interface DnsmasqUser {
  user: string;
  group: string;
}

/** The account to serve as, from /etc/passwd and /etc/group: Debian's own `dnsmasq` user (the
 * dnsmasq package makes it; dnsmasq-base alone does not), else `nobody`; its primary group. */
export function pickDnsmasqUser(passwd: string, group: string): DnsmasqUser | undefined {
  const users = new Map(
    passwd
      .split("\n")
      .map((l) => l.split(":"))
      .filter((f) => f.length >= 4)
      .map((f) => [f[0]!, Number(f[3])] as const),
  );
  const groups = new Map(
    group
      .split("\n")
      .map((l) => l.split(":"))
      .filter((f) => f.length >= 3)
      .map((f) => [Number(f[2]), f[0]!] as const),
  );
  for (const user of ["dnsmasq", "nobody"]) {
    const gid = users.get(user);
    const g = gid === undefined ? undefined : groups.get(gid);
    if (g) return { user, group: g };
  }
  return undefined;
}

/** dnsmasq's argv for one network. Nothing from the host leaks in: no /etc/dnsmasq.conf
 * (--conf-file=/dev/null), no /etc/hosts (--no-hosts); it answers only on the VNET's bridge, only
 * known MACs (a static range), and names under the VNET domain are never forwarded upstream. */
export function dnsmasqArgs(net: DhcpNetwork, paths: DhcpPaths, as: DnsmasqUser): string[] {
  return [
    "--conf-file=/dev/null",
    "--no-hosts",
    `--pid-file=${paths.pid}`,
    `--dhcp-leasefile=${paths.leases}`,
    `--dhcp-hostsfile=${paths.hosts}`,
    `--addn-hosts=${paths.names}`,
    `--interface=${net.bridge}`,
    "--except-interface=lo",
    "--bind-dynamic",
    // Binds its sockets and opens the lease and pid files as root, then serves as `as` (it keeps
    // only the capabilities DHCP needs): the hosts and names files it rereads on SIGHUP are world
    // readable for that (supervisor.ts).
    `--user=${as.user}`,
    `--group=${as.group}`,
    `--dhcp-range=set:v${net.vnetId},${net.network},static,${net.netmask},${net.leaseSeconds}`,
    "--dhcp-authoritative",
    `--dhcp-option=option:router,${net.gateway}`,
    `--dhcp-option=option:dns-server,${net.gateway}`,
    `--dhcp-option=option:domain-name,${net.domain}`,
    `--dhcp-option=option:domain-search,${net.domain}`,
    // Sent even to clients that do not ask (busybox udhcpc does not by default): a guest that keeps
    // 1500 on a VXLAN network loses every large packet.
    `--dhcp-option-force=option:mtu,${net.mtu}`,
    `--domain=${net.domain}`,
    `--local=/${net.domain}/`,
    "--domain-needed",
    "--bogus-priv",
    ...(net.upstreams.length ? ["--no-resolv", ...net.upstreams.map((s) => `--server=${s}`)] : []),
    ...(net.v6 ? ipv6Args(net, net.v6) : []),
  ];
}

/** Router advertisements (prefix, MTU, RDNSS and DNSSL) and DHCPv6. A SLAAC prefix is `ra-only`
 * (autonomous flag, no DHCPv6 for it); a static prefix is `static` (managed flag: guests ask DHCPv6,
 * which answers only the MACs of the hosts file, with the address their lease says). */
function ipv6Args(net: DhcpNetwork, v6: NonNullable<DhcpNetwork["v6"]>): string[] {
  const at = (cidr: string) => cidr.split("/") as [string, string];
  return [
    "--enable-ra",
    // MTU option in every RA (a VXLAN guest keeping 1500 loses large packets); 0: default interval.
    `--ra-param=${net.bridge},mtu:${net.mtu},0`,
    ...v6.slaac.map((c) => `--dhcp-range=set:v${net.vnetId},${at(c)[0]},ra-only,64,${net.leaseSeconds}`),
    ...v6.static.map((c) => {
      const [addr, len] = at(c);
      return `--dhcp-range=set:v${net.vnetId},${addr},static,${len},${net.leaseSeconds}`;
    }),
    // Sent as RDNSS/DNSSL in the advertisements and as DHCPv6 options.
    `--dhcp-option=option6:dns-server,[${v6.dns}]`,
    `--dhcp-option=option6:domain-search,${net.domain}`,
  ];
}
