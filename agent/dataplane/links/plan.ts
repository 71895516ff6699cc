// The planner: a pure function from (desired, observed) to ordered `ip` operations. No I/O, so it is
// tested exhaustively with hand-built kernel states. Its central promise is level-triggered
// idempotence: when the kernel already matches, the plan is empty.
import { type DesiredNetwork, type DesiredState, isTapPort } from "../../../lib/wire";
import {
  guestNsName,
  hostVethName,
  NIC_ALIAS_PREFIX,
  type ObjectRef,
  type Observed,
  type ObservedLink,
  type ObservedNodeRoute,
  OWNED_MAC_PREFIXES,
  OWNER_ALIAS_PREFIX,
  type Plan,
  planOps,
  type Target,
} from "../types";
import {
  bridgeDriver,
  DRIVER_REGISTRY,
  type DriverContext,
  DriverError,
  getDriver,
  type NetworkDriver,
  type OpFactory,
} from "./drivers";
import { type AcceptedPort, type NodeView, type OpMaker, planGuest } from "./plan-guest";

export interface PlanOptions {
  /** Guest namespaces are `${guestPrefix}-i<instanceId>`; every namespace with that prefix is ours. */
  guestPrefix: string;
}

const IFNAME_MAX = 15;
const HOST_VETH_PREFIX = "bhv";
/** QoS's ifb devices (tc/plan.ts ifbName: bhq<nic>, alias bhqos:nic:<nic>): tc/apply.ts owns them. */
export const IFB_PREFIX = "bhq";
/** Link name prefixes reserved for per-NIC devices: no network link may use them. */
const RESERVED_PREFIXES = [HOST_VETH_PREFIX, IFB_PREFIX];
/** A QoS ifb device: never stale for the ip planner, whatever its alias (tc/apply.ts removes it). */
const isIfb = (l: ObservedLink) =>
  l.name.startsWith(IFB_PREFIX) && (l.kind === "ifb" || l.kind === undefined);

/** Whether a link is ours (the only links we may delete or change): it carries our ownership alias,
 * or — created by an agent killed before it set the alias — one of the MACs we create devices with. */
export const isOwned = (l: ObservedLink): boolean =>
  l.alias?.startsWith(OWNER_ALIAS_PREFIX) === true ||
  (l.alias === undefined && OWNED_MAC_PREFIXES.some((p) => l.mac?.startsWith(p)));

/** Op builders whose preview text is the exact equivalent `ip` command line. */
function opMaker(nodeNs: string | undefined): OpMaker {
  const make = (target: Target, prefix: string) => (line: string, object: ObjectRef, extra?: object) => ({
    target,
    line,
    text: `ip ${prefix}${line}`,
    object,
    ...extra,
  });
  const inNode = nodeNs ? `-n ${nodeNs} ` : "";
  return {
    netns: make({ kind: "netns" }, ""),
    node: make({ kind: "node" }, inNode),
    guest: (ns, line, object, extra) => make({ kind: "guest", ns }, `-n ${ns} `)(line, object, extra),
    bridge: (line, object, extra) => ({
      target: { kind: "node" },
      tool: "bridge",
      line,
      text: `bridge ${inNode}${line}`,
      object,
      ...extra,
    }),
    sysctl: (line, object) => ({
      target: { kind: "node" },
      tool: "sysctl",
      line,
      text: `${nodeNs ? `ip netns exec ${nodeNs} ` : ""}sysctl -w ${line}`,
      object,
    }),
  };
}

interface AcceptedNetwork {
  net: DesiredNetwork;
  driver: NetworkDriver;
}

/** Kernel links a desired network owns (its bridge alone when its driver is unknown). */
export const linksOf = (net: DesiredNetwork): string[] =>
  DRIVER_REGISTRY[net.driver]?.links(net) ?? [net.bridge];

/** Desired networks the drivers can realise; the others are rejected with a reason. */
function acceptNetworks(desired: DesiredState, links: Map<string, ObservedLink>, out: Plan) {
  const accepted = new Map<number, AcceptedNetwork>();
  const owners = new Map<string, number>(); // link name → VNET
  for (const net of desired.networks) {
    const reject = (error: string) => out.rejectedNetworks.push({ vnetId: net.vnetId, error });
    const names = linksOf(net);
    const twin = names.find((n) => owners.has(n));
    const reserved = names.find((n) => RESERVED_PREFIXES.some((p) => n.startsWith(p)));
    const foreign = names.find((n) => links.get(n) && !isOwned(links.get(n) as ObservedLink));
    const driver = DRIVER_REGISTRY[net.driver];
    const unfit = driver?.check(net, desired);
    if (accepted.has(net.vnetId) || out.rejectedNetworks.some((r) => r.vnetId === net.vnetId)) {
      reject(`VNET ${net.vnetId} appears twice in the desired state`);
    } else if (twin !== undefined) {
      reject(`link name ${twin} is also used by VNET ${owners.get(twin)}`);
    } else if (reserved !== undefined) {
      reject(
        `link name ${reserved} starts with "${reserved.slice(0, 3)}", which is reserved for NIC ports (${HOST_VETH_PREFIX}<nic>) and their QoS devices (${IFB_PREFIX}<nic>); choose another bridge name`,
      );
    } else if (foreign) {
      reject(
        `link ${foreign} already exists on the node and is not managed by Bridgehead (no ${OWNER_ALIAS_PREFIX} alias); choose another name or remove that link`,
      );
    } else if (unfit) {
      reject(unfit);
    } else {
      try {
        accepted.set(net.vnetId, { net, driver: getDriver(net.driver) });
        for (const n of names) owners.set(n, net.vnetId);
      } catch (e) {
        if (!(e instanceof DriverError)) throw e;
        reject(e.message);
      }
    }
  }
  return accepted;
}

/** Desired ports that can be realised; the others are rejected with a reason. */
function acceptPorts(
  desired: DesiredState,
  networks: Map<number, AcceptedNetwork>,
  links: Map<string, ObservedLink>,
  guestPrefix: string,
  out: Plan,
): AcceptedPort[] {
  const accepted: AcceptedPort[] = [];
  const seen = new Set<number>();
  const guestIfs = new Map<string, number>(); // "ns/eth0" → nicId
  for (const port of desired.ports) {
    const reject = (error: string) => out.rejectedPorts.push({ nicId: port.nicId, error });
    const name = hostVethName(port.nicId);
    const ns = guestNsName(guestPrefix, port.instanceId);
    const net = networks.get(port.vnetId)?.net;
    const twin = guestIfs.get(`${ns}/${port.guestIf}`);
    const existing = links.get(name);
    const netRejected = out.rejectedNetworks.find((r) => r.vnetId === port.vnetId);
    if (seen.has(port.nicId)) reject(`NIC ${port.nicId} appears twice in the desired state`);
    else if (!net && netRejected) reject(`VNET ${port.vnetId} is not applied: ${netRejected.error}`);
    else if (!net) reject(`VNET ${port.vnetId} is not in this node's desired state`);
    else if (name.length > IFNAME_MAX)
      reject(`host interface name ${name} is longer than ${IFNAME_MAX} characters`);
    else if (twin !== undefined) {
      reject(`interface ${port.guestIf} of instance ${port.instanceId} is also used by NIC ${twin}`);
    } else if (existing && !isOwned(existing)) {
      reject(`link ${name} already exists on the node and is not managed by Bridgehead`);
    } else {
      accepted.push({ port, net, ns, routed: networks.get(port.vnetId)?.driver.routedPorts === true });
      guestIfs.set(`${ns}/${port.guestIf}`, port.nicId);
    }
    seen.add(port.nicId);
  }
  return accepted;
}

/** Removal of what is ours and no longer desired. Only links with our alias and namespaces with our
 * guest prefix qualify; anything desired (even if rejected this round) is left alone. */
function planStale(desired: DesiredState, observed: Observed, guestPrefix: string, mk: OpMaker, out: Plan) {
  const keepNs = new Set(desired.ports.map((p) => guestNsName(guestPrefix, p.instanceId)));
  const staleNs = observed.namespaces.filter(
    (ns) => ns.startsWith(`${guestPrefix}-i`) && !keepNs.has(ns) && ns !== observed.nodeNetns,
  );
  for (const ns of staleNs) {
    out.deleteNamespaces.push(mk.netns(`netns del ${ns}`, { kind: "stale", name: ns }, { deletion: true }));
  }
  // A veth whose peer lives in a namespace being deleted goes with that namespace: the kernel
  // unregisters a dying namespace's devices in one batch (200 pairs: ~10 ms), while each
  // `link del` of a veth waits for its own RCU grace period (~15 ms each, seconds at scale).
  const dying = new Set(
    staleNs.flatMap((ns) => (observed.guests[ns]?.links ?? []).map((g) => `${g.linkIndex}/${g.ifindex}`)),
  );
  const goesWithNs = (l: ObservedLink) => l.kind === "veth" && dying.has(`${l.ifindex}/${l.linkIndex}`);

  const keepLinks = new Set([
    ...desired.networks.flatMap(linksOf),
    ...desired.ports.map((p) => hostVethName(p.nicId)),
  ]);
  out.goneWithNamespaces = observed.links.filter((l) => isOwned(l) && goesWithNs(l)).map((l) => l.name);
  const stale = observed.links.filter(
    (l) => isOwned(l) && !isIfb(l) && !keepLinks.has(l.name) && !goesWithNs(l),
  );
  const isPort = (l: ObservedLink) => l.kind === "veth" || l.alias?.startsWith(NIC_ALIAS_PREFIX);
  // Stale ports go before stale bridges (the namespace deletions above run first of all): a bridge
  // is only removed once nothing of ours hangs on it, so no port is ever left detached and up.
  // All removals precede all creations, so a new object may reuse a stale object's name.
  for (const l of [...stale.filter(isPort), ...stale.filter((l) => !isPort(l))]) {
    const op: OpFactory = (line, extra) => mk.node(line, { kind: "stale", name: l.name }, extra);
    out.node.push(
      ...(l.kind === "bridge" ? bridgeDriver.clear(l, op) : [op(`link del ${l.name}`, { deletion: true })]),
    );
  }
}

/** Ordered operations that make `observed` match `desired`; empty when it already does. */
export function plan(wanted: DesiredState, observed: Observed, opts: PlanOptions): Plan {
  // Hypervisor (tap) ports are created by QEMU/libvirt and plugged by ports/taps.ts: the ip plan
  // creates and removes nothing for them, and only reports them with their network.
  const taps = wanted.ports.filter(isTapPort);
  const desired = taps.length ? { ...wanted, ports: wanted.ports.filter((p) => !isTapPort(p)) } : wanted;
  const nodeNs = observed.nodeNetns;
  const mk = opMaker(nodeNs);
  const out: Plan = {
    nodeNetns: nodeNs,
    createNamespaces: [],
    guestsBefore: [],
    node: [],
    sysctls: [],
    fdb: [],
    guests: [],
    deleteNamespaces: [],
    goneWithNamespaces: [],
    rejectedNetworks: [],
    rejectedPorts: [],
    networks: [],
    ports: [],
  };
  const links = new Map(observed.links.map((l) => [l.name, l]));

  // A namespace standing in for a node (lab, tests) is created on demand with lo up; the agent's
  // own namespace (a real hypervisor) is the operating system's, and its lo is left alone.
  if (nodeNs && !observed.nodeNetnsExists)
    out.createNamespaces.push(mk.netns(`netns add ${nodeNs}`, { kind: "node" }));
  if (nodeNs && !links.get("lo")?.up) out.node.push(mk.node("link set lo up", { kind: "node" }));

  const networks = acceptNetworks(desired, links, out);
  const ports = acceptPorts(desired, networks, links, opts.guestPrefix, out);
  out.networks = [...networks.keys()];
  out.ports = ports.map((a) => ({ nicId: a.port.nicId, vnetId: a.net.vnetId, ns: a.ns }));
  for (const t of taps) {
    if (networks.has(t.vnetId)) out.ports.push({ nicId: t.nicId, vnetId: t.vnetId, ns: "" });
    else out.rejectedPorts.push({ nicId: t.nicId, error: `VNET ${t.vnetId} is not applied on this node` });
  }

  planStale(desired, observed, opts.guestPrefix, mk, out);

  // Networks before ports: a port is enslaved to its bridge, which must exist by then.
  const bridgesCreated = new Set<number>();
  const sysctls = new Set<string>();
  for (const { net, driver } of networks.values()) {
    const object = { kind: "network", vnetId: net.vnetId } as const;
    const ctx: DriverContext = {
      links,
      fdb: observed.fdb,
      sysctls: observed.sysctls,
      vtep: desired.vtep,
      uplink: desired.uplink,
      op: (line, extra) => mk.node(line, object, extra),
      fdbOp: (line, extra) => mk.bridge(line, object, extra),
      sysctl: (key, value) => mk.sysctl(`${key}=${value}`, object),
    };
    const r = driver.setup(net, ctx);
    out.node.push(...r.ops);
    out.fdb.push(...r.fdb);
    // One write per key, however many networks need it (forwarding).
    for (const op of r.sysctls.filter((o) => !sysctls.has(o.line))) {
      out.sysctls.push(op);
      sysctls.add(op.line);
    }
    if (r.bridgeCreated) bridgesCreated.add(net.vnetId);
  }
  const routesByDev = new Map<string, ObservedNodeRoute[]>();
  for (const r of observed.routes) if (r.dev) routesByDev.set(r.dev, [...(routesByDev.get(r.dev) ?? []), r]);
  const view: NodeView = { links, routesByDev, sysctls: observed.sysctls };

  const byNs = new Map<string, AcceptedPort[]>();
  for (const a of ports) {
    const group = byNs.get(a.ns);
    if (group) group.push(a);
    else byNs.set(a.ns, [a]);
  }
  for (const [ns, group] of byNs) planGuest(ns, group, observed.guests[ns], view, bridgesCreated, mk, out);
  return out;
}

/** The plan preview: one exact command line (ip, bridge, sysctl) per operation, in execution order. */
export function planPreview(p: Plan): string[] {
  return planOps(p).map((o) => o.text);
}
