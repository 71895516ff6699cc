// Planning of container-style ports: per guest namespace, the veth pairs into the node's bridges,
// the guest-side addresses and the default route. Pure; called by plan.ts.
import type { DesiredNetwork, DesiredPort } from "../../../lib/wire";
import {
  hostVethMac,
  hostVethName,
  nicAlias,
  type ObjectRef,
  type ObservedGuest,
  type ObservedLink,
  type ObservedNodeRoute,
  type Op,
  type Plan,
} from "../types";
import { addressLines, addressLines6, confKey, neighKey, normCidr } from "./drivers";

/** Builds ops with their preview text. */
export interface OpMaker {
  netns(line: string, object: ObjectRef, extra?: Extra): Op;
  node(line: string, object: ObjectRef, extra?: Extra): Op;
  guest(ns: string, line: string, object: ObjectRef, extra?: Extra): Op;
  /** `bridge` line in the node namespace. */
  bridge(line: string, object: ObjectRef, extra?: Extra): Op;
  /** `sysctl -w key=value` in the node namespace. */
  sysctl(line: string, object: ObjectRef): Op;
}
type Extra = { undo?: string; deletion?: boolean };

/** A desired port that passed validation, with its network and guest namespace. */
export interface AcceptedPort {
  port: DesiredPort;
  net: DesiredNetwork;
  ns: string;
  /** Host-routed (routed driver): /32 routes and proxy ARP instead of a bridge port. */
  routed?: boolean;
}

/** What the node namespace shows that host-routed ports depend on. */
export interface NodeView {
  links: Map<string, ObservedLink>;
  /** Host routes by device. */
  routesByDev: Map<string, ObservedNodeRoute[]>;
  sysctls: Record<string, string>;
}

interface PortOps {
  before: Op[];
  node: Op[];
  sysctls: Op[];
  guest: Op[];
  /** The guest interface is (re)created or loses an address: routes through it are gone. */
  routesLost: boolean;
}

/** Whether `host` (node side) and `guest` are the two ends of one veth pair. Each end reports its
 * peer's ifindex (in the peer's namespace), so both must point at each other. */
function isPair(host: ObservedLink | undefined, guest: ObservedLink | undefined): boolean {
  return (
    host?.kind === "veth" &&
    guest?.kind === "veth" &&
    host.linkIndex === guest.ifindex &&
    guest.linkIndex === host.ifindex
  );
}

/** Global IPv6 addresses of a guest link: its link-local address is the kernel's. */
const globalOnly = (cidrs: string[] | undefined) => (cidrs ?? []).filter((c) => !c.startsWith("fe80:"));

/** The address part of each CIDR. */
const hostsOf = (cidrs: string[]) => cidrs.map((c) => normCidr(c).split("/")[0] as string);

/** Node-side ops of a host-routed port: one /32 route per address through its veth (stale ones
 * go), and proxy ARP on the veth so the guest's ARP for its neighbours gets the node's MAC. A
 * recreated veth has lost both. */
function routedHostOps(
  a: AcceptedPort,
  fresh: boolean,
  view: NodeView,
  n: (line: string, extra?: Extra) => Op,
  s: (line: string) => Op,
): { node: Op[]; sysctls: Op[] } {
  const name = hostVethName(a.port.nicId);
  const want = new Set(hostsOf(a.port.addresses));
  const have = new Set(
    fresh
      ? []
      : (view.routesByDev.get(name) ?? [])
          .filter((r) => !r.gateway && (!r.dst.includes("/") || r.dst.endsWith("/32")))
          .map((r) => r.dst.replace(/\/32$/, "")),
  );
  const node = [
    ...[...have]
      .filter((h) => !want.has(h))
      .map((h) => n(`route del ${h}/32 dev ${name}`, { deletion: true })),
    ...[...want].filter((w) => !have.has(w)).map((w) => n(`route replace ${w}/32 dev ${name}`)),
  ];
  // Proxy ARP answers after a random delay of up to 0.8 s by default (proxy_delay): a guest's first
  // packet to a neighbour would wait that long. Calico sets it to 0 on its veths for the same reason.
  const want2 = { [confKey(name, "proxy_arp")]: "1", [neighKey(name, "proxy_delay")]: "0" };
  const sysctls = Object.entries(want2)
    .filter(([k, v]) => fresh || view.sysctls[k] !== v)
    .map(([k, v]) => s(`${k}=${v}`));
  return { node, sysctls };
}

/** Ops for one port; `bridgeCreated` forces re-enslaving (a new bridge has no ports). */
function planPort(
  a: AcceptedPort,
  host: ObservedLink | undefined,
  guest: ObservedLink | undefined,
  bridgeCreated: boolean,
  view: NodeView,
  mk: OpMaker,
): PortOps {
  const { port, net, ns } = a;
  const obj: ObjectRef = { kind: "port", nicId: port.nicId };
  const name = hostVethName(port.nicId);
  const dev = port.guestIf;
  const mac = port.mac.toLowerCase();
  const n = (line: string, extra?: Extra) => mk.node(line, obj, extra);
  const g = (line: string, extra?: Extra) => mk.guest(ns, line, obj, extra);
  const s = (line: string) => mk.sysctl(line, obj);

  if (!isPair(host, guest)) {
    // Recreate: a half pair, a pair into the wrong namespace or a squatter on the guest name
    // cannot be repaired in place. The peer is created directly inside the guest namespace with
    // its MAC and MTU, and the alias is set right after creation (link add ignores ifalias).
    const routed = a.routed ? routedHostOps(a, true, view, n, s) : undefined;
    return {
      before: guest ? [g(`link del ${dev}`, { deletion: true })] : [],
      node: [
        ...(host ? [n(`link del ${name}`, { deletion: true })] : []),
        n(
          `link add ${name} address ${hostVethMac(port.nicId)} mtu ${port.mtu} type veth peer name ${dev} address ${mac} mtu ${port.mtu} netns ${ns}`,
          { undo: `link del ${name}` },
        ),
        n(`link set ${name} alias ${nicAlias(port.nicId)}${a.routed ? "" : ` master ${net.bridge}`} up`),
        ...(routed?.node ?? []),
      ],
      sysctls: routed?.sysctls ?? [],
      guest: [
        g(`link set ${dev} up`),
        ...port.addresses.map((ad) => g(`addr add ${normCidr(ad)} dev ${dev}`)),
        ...addressLines6(dev, [], port.static6 ?? []).map((l) => g(l)),
      ],
      routesLost: true,
    };
  }
  const h = host as ObservedLink;
  const gl = guest as ObservedLink;
  const hostSet: string[] = [];
  if (h.alias !== nicAlias(port.nicId)) hostSet.push(`alias ${nicAlias(port.nicId)}`);
  if (h.mtu !== port.mtu) hostSet.push(`mtu ${port.mtu}`);
  if (a.routed) {
    if (h.master) hostSet.push("nomaster");
  } else if (bridgeCreated || h.master !== net.bridge) hostSet.push(`master ${net.bridge}`);
  if (!h.up) hostSet.push("up");
  const guestSet: string[] = [];
  if (gl.mac !== mac) guestSet.push(`address ${mac}`);
  if (gl.mtu !== port.mtu) guestSet.push(`mtu ${port.mtu}`);
  if (!gl.up) guestSet.push("up");
  const addr = addressLines(dev, gl.ipv4, port.addresses);
  // Static IPv6 leases as the agent configures them; SLAAC ones the guest's kernel makes from the
  // node's router advertisements (a new namespace accepts them), so they are not planned.
  // A port without static IPv6 leases leaves the guest's IPv6 alone (what an agent of wire 4 did:
  // addresses someone configured in the guest by hand stay).
  const addr6 = port.static6 ? addressLines6(dev, globalOnly(gl.ipv6), port.static6) : [];
  const routed = a.routed ? routedHostOps(a, false, view, n, s) : undefined;
  return {
    before: [],
    node: [
      ...(hostSet.length > 0 ? [n(`link set ${name} ${hostSet.join(" ")}`)] : []),
      ...(routed?.node ?? []),
    ],
    sysctls: routed?.sysctls ?? [],
    guest: [
      ...(guestSet.length > 0 ? [g(`link set ${dev} ${guestSet.join(" ")}`)] : []),
      ...addr.map((l) => g(l)),
      ...addr6.map((l) => g(l)),
    ],
    routesLost: addr.some((l) => l.startsWith("addr del")),
  };
}

/** Ops for one guest namespace and all its ports; appends to `out`. */
export function planGuest(
  ns: string,
  group: AcceptedPort[],
  observedGuest: ObservedGuest | undefined,
  view: NodeView,
  bridgesCreated: Set<number>,
  mk: OpMaker,
  out: Plan,
): void {
  const nsObj: ObjectRef = { kind: "guest", ns };
  if (!observedGuest)
    out.createNamespaces.push(mk.netns(`netns add ${ns}`, nsObj, { undo: `netns del ${ns}` }));
  const guestLinks = new Map((observedGuest?.links ?? []).map((l) => [l.name, l]));
  const before: Op[] = [];
  const guestOps: Op[] = [];
  if (!guestLinks.get("lo")?.up) guestOps.push(mk.guest(ns, "link set lo up", nsObj));
  const lost = new Set<string>();
  for (const a of group) {
    const host = view.links.get(hostVethName(a.port.nicId));
    const r = planPort(a, host, guestLinks.get(a.port.guestIf), bridgesCreated.has(a.net.vnetId), view, mk);
    before.push(...r.before);
    out.node.push(...r.node);
    out.sysctls.push(...r.sysctls);
    guestOps.push(...r.guest);
    if (r.routesLost) lost.add(a.port.guestIf);
  }
  // Routes go last: the gateway must already be reachable through an address on the interface.
  guestOps.push(...routeOps(ns, group, observedGuest, lost, mk));
  if (before.length > 0) out.guestsBefore.push({ ns, ops: before });
  if (guestOps.length > 0) out.guests.push({ ns, ops: guestOps });
}

/** The guest's default route: exactly one, via the gateway of the NIC that owns it (the first NIC
 * with defaultRoute and a gateway); none when no NIC owns it. */
function routeOps(
  ns: string,
  group: AcceptedPort[],
  observedGuest: ObservedGuest | undefined,
  lost: Set<string>,
  mk: OpMaker,
): Op[] {
  const ownerPort = group.find((a) => a.port.defaultRoute && a.port.gateway);
  const owner = ownerPort?.port;
  const obj: ObjectRef = owner ? { kind: "port", nicId: owner.nicId } : { kind: "guest", ns };
  // Routes through an interface this plan recreates or readdresses vanish with it.
  const routes = (observedGuest?.defaultRoutes ?? []).filter((r) => !r.dev || !lost.has(r.dev));
  const matches = (r: { gateway?: string; dev?: string }) =>
    owner !== undefined && r.gateway === owner.gateway && r.dev === owner.guestIf;
  const ops = routes
    .filter((r) => !matches(r))
    .map((r) =>
      mk.guest(
        ns,
        `route del default${r.gateway ? ` via ${r.gateway}` : ""}${r.dev ? ` dev ${r.dev}` : ""}`,
        obj,
        {
          deletion: true,
        },
      ),
    );
  if (owner && !routes.some(matches)) {
    // A routed network's gateway (169.254.0.1) is outside the guest's subnet: it is on-link.
    const onlink = ownerPort?.routed ? " onlink" : "";
    ops.push(mk.guest(ns, `route replace default via ${owner.gateway} dev ${owner.guestIf}${onlink}`, obj));
  }
  return ops;
}
