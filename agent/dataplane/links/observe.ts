// Reads what *is*: the node namespace's links and addresses, the named namespaces, and each of our
// guest namespaces — always through `ip -j` (JSON), never by scraping text output.
import { readdir } from "node:fs/promises";
import { ipIn, pool, runIn, splitForcedBatch } from "../run";
import type {
  Observed,
  ObservedFdb,
  ObservedGuest,
  ObservedLink,
  ObservedNodeRoute,
  ObservedRoute,
} from "../types";
import { confKey, IP_FORWARD, neighKey, normCidr6 } from "./drivers";
import { nlReadGuests } from "./nl";

/** The subset of `ip -j -d addr show` we read. */
interface IpLinkJson {
  ifindex: number;
  ifname: string;
  flags?: string[];
  mtu: number;
  master?: string;
  address?: string;
  link_index?: number;
  ifalias?: string;
  /** Parent device of a VLAN (or other stacked) link. */
  link?: string;
  linkinfo?: {
    info_kind?: string;
    info_data?: {
      id?: number;
      local?: string;
      group?: string;
      port?: number;
      link?: string;
      learning?: boolean;
    };
  };
  addr_info?: {
    family: string;
    local: string;
    prefixlen: number;
    scope?: string;
    dynamic?: boolean;
    dadfailed?: boolean;
  }[];
}

interface IpRouteJson {
  dst: string;
  gateway?: string;
  dev?: string;
}

/** Parses one JSON document printed by `ip -j`; ip prints nothing at all for some empty lists. */
function parseJsonArray<T>(text: string, what: string): T[] {
  const t = text.trim();
  if (!t) return [];
  try {
    const v: unknown = JSON.parse(t);
    if (!Array.isArray(v)) throw new Error("not a JSON array");
    return v as T[];
  } catch (e) {
    throw new Error(`cannot parse ${what}: ${(e as Error).message}`);
  }
}

/** The VXLAN or 802.1Q parameters of a link, when it is one. */
function stacked(l: IpLinkJson): Pick<ObservedLink, "vxlan" | "vlan"> {
  const kind = l.linkinfo?.info_kind;
  const d = l.linkinfo?.info_data ?? {};
  if (kind === "vxlan")
    return {
      vxlan: {
        id: d.id ?? 0,
        local: d.local,
        group: d.group,
        port: d.port,
        dev: d.link,
        learning: d.learning,
      },
    };
  if (kind === "vlan") return { vlan: { id: d.id ?? 0, dev: l.link } };
  return {};
}

type AddrInfo = NonNullable<IpLinkJson["addr_info"]>[number];
const v6 = (l: IpLinkJson, keep: (a: AddrInfo) => boolean) =>
  (l.addr_info ?? [])
    .filter(
      (a) => a.family === "inet6" && (a.scope === "global" || a.scope === "link") && !a.dynamic && keep(a),
    )
    .map((a) => normCidr6(`${a.local}/${a.prefixlen}`));

/** Turns `ip -j -d addr show` output into ObservedLinks. */
export function parseLinks(json: string): ObservedLink[] {
  return parseJsonArray<IpLinkJson>(json, "ip -j addr show").map((l) => ({
    ...stacked(l),
    name: l.ifname,
    ifindex: l.ifindex,
    kind: l.linkinfo?.info_kind,
    alias: l.ifalias,
    master: l.master,
    mtu: l.mtu,
    mac: l.address?.toLowerCase(),
    up: (l.flags ?? []).includes("UP"),
    linkIndex: l.link_index,
    ipv4: (l.addr_info ?? []).filter((a) => a.family === "inet").map((a) => `${a.local}/${a.prefixlen}`),
    // Not autoconfigured from a router advertisement (SLAAC addresses are `dynamic`, and belong to
    // the kernel, not to the plan); one that failed duplicate address detection is unusable.
    ipv6: v6(l, (a) => !a.dadfailed),
    ipv6Failed: v6(l, (a) => !!a.dadfailed),
  }));
}

/** Turns `ip -j route show default` output into routes. */
export function parseDefaultRoutes(json: string): ObservedRoute[] {
  return parseJsonArray<IpRouteJson>(json, "ip -j route show default")
    .filter((r) => r.dst === "default")
    .map((r) => ({ gateway: r.gateway, dev: r.dev }));
}

/** Turns `ip -j route show` output (main table) into node routes. */
export function parseNodeRoutes(json: string): ObservedNodeRoute[] {
  return parseJsonArray<IpRouteJson>(json, "ip -j route show").map((r) => ({
    dst: r.dst,
    ...(r.dev ? { dev: r.dev } : {}),
    ...(r.gateway ? { gateway: r.gateway } : {}),
  }));
}

/** Parses `bridge -j fdb show dev X` lines (one JSON array per device, in `devs` order). */
export function parseFdb(stdout: string, devs: string[]): ObservedFdb[] {
  const lines = stdout.split("\n").filter((l) => l.trim());
  return devs.flatMap((dev, i) =>
    parseJsonArray<{ mac: string; dst?: string }>(lines[i] ?? "", "bridge -j fdb show").map((f) => ({
      dev,
      mac: f.mac.toLowerCase(),
      ...(f.dst ? { dst: f.dst } : {}),
    })),
  );
}

/** Parses `sysctl -e k1 k2 ...` output ("key = value" lines). */
export function parseSysctls(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of stdout.split("\n")) {
    const m = /^(\S+) = (.*)$/.exec(line.trim());
    if (m) out[m[1] as string] = m[2] as string;
  }
  return out;
}

/** Parses the two JSON lines of a guest's `addr show` + `route show default` batch. */
export function parseGuestBatch(stdout: string): ObservedGuest {
  const [addrs = "", routes = ""] = stdout.split("\n").filter((l) => l.trim());
  return { links: parseLinks(addrs), defaultRoutes: parseDefaultRoutes(routes) };
}

/** Names of all named network namespaces (what `ip netns list` reads). */
export async function listNamespaces(): Promise<string[]> {
  try {
    return (await readdir("/run/netns")).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
}

/** Reads one guest namespace in one `ip` process; undefined when it vanished meanwhile. */
async function ipReadGuest(ns: string): Promise<ObservedGuest | undefined> {
  const r = await ipIn(ns, ["-j", "-d", "-batch", "-"], "addr show\nroute show default\n");
  if (r.code === 0) return parseGuestBatch(r.stdout);
  if (!(await listNamespaces()).includes(ns)) return undefined;
  throw new Error(`cannot read guest namespace ${ns}: ${r.stderr.trim()}`);
}

/** How many guest namespaces are read at once without the helpers (each read is one short `ip`
 * process). */
const GUEST_READ_CONCURRENCY = 8;

/** Reads guest namespaces (through the netlink helpers, all in one request each, else one `ip`
 * process per namespace); undefined for one that vanished meanwhile. */
export async function observeGuests(namespaces: string[]): Promise<(ObservedGuest | undefined)[]> {
  if (namespaces.length === 0) return [];
  const nl = await nlReadGuests(namespaces);
  if (!nl) return pool(namespaces, GUEST_READ_CONCURRENCY, ipReadGuest);
  return nl.map((g) =>
    g ? { links: parseLinks(g.addrs), defaultRoutes: parseDefaultRoutes(g.routes) } : undefined,
  );
}

/** Reads one guest namespace (see observeGuests); undefined when it vanished meanwhile. */
export async function observeGuest(ns: string): Promise<ObservedGuest | undefined> {
  return (await observeGuests([ns]))[0];
}

type NodeState = Pick<Observed, "links" | "routes" | "fdb" | "sysctls">;

/** Turns `ip -j netconf show` output into the sysctls the planner compares: forwarding (all) and
 * proxy ARP of our host veths. */
export function parseNetconf(json: string): Record<string, string> {
  const out: Record<string, string> = {};
  const rows = parseJsonArray<{
    family: string;
    interface: string;
    forwarding?: boolean;
    proxy_neigh?: boolean;
  }>(json, "ip -j netconf show");
  for (const r of rows.filter((x) => x.family === "inet")) {
    if (r.interface === "all") out[IP_FORWARD] = r.forwarding ? "1" : "0";
    else if (r.interface.startsWith("bhv"))
      out[confKey(r.interface, "proxy_arp")] = r.proxy_neigh ? "1" : "0";
  }
  return out;
}

/** Reads the node namespace in one `ip -batch` (links with addresses, main routes, netconf), then,
 * only for what exists, the FDB of VXLAN devices and the proxy ARP delay of unbridged host veths
 * (routed ports): one process on a push to a bridge-only node, three at most. */
async function observeNode(ns: string | undefined): Promise<NodeState> {
  const r = await ipIn(ns, ["-j", "-d", "-batch", "-"], "addr show\nroute show\nnetconf show\n");
  if (r.code !== 0) throw new Error(`cannot read node namespace ${ns ?? "(own)"}: ${r.stderr.trim()}`);
  const [addrs = "", routes = "", netconf = ""] = r.stdout.split("\n").filter((l) => l.trim());
  const links = parseLinks(addrs);
  const vx = links.filter((l) => l.kind === "vxlan").map((l) => l.name);
  const unbridged = links.filter((l) => l.kind === "veth" && l.name.startsWith("bhv") && !l.master);
  const [fdb, sys] = await Promise.all([
    vx.length
      ? runIn(ns, "bridge", ["-j", "-force", "-batch", "-"], vx.map((d) => `fdb show dev ${d}\n`).join(""))
      : Promise.resolve(undefined),
    unbridged.length
      ? runIn(ns, "sysctl", ["-e", ...unbridged.map((l) => neighKey(l.name, "proxy_delay"))])
      : Promise.resolve(undefined),
  ]);
  return {
    links,
    routes: parseNodeRoutes(routes),
    // A device deleted between the two reads has no entries: the next plan recreates it anyway.
    fdb: fdb ? parseFdb(fdb.stdout, vx) : [],
    sysctls: { ...parseNetconf(netconf), ...(sys ? parseSysctls(sys.stdout) : {}) },
  };
}

/** Reads the node namespace and every guest namespace named `${guestPrefix}-i…`. */
export async function observe(opts: {
  nodeNetns?: string;
  guestPrefix: string;
  /** Guest namespaces known unchanged since the last reconcile: not read (left out of `guests`). */
  skip?: Set<string>;
}): Promise<Observed> {
  const namespaces = await listNamespaces();
  const nodeNetnsExists = opts.nodeNetns === undefined || namespaces.includes(opts.nodeNetns);
  const ours = namespaces.filter((n) => n.startsWith(`${opts.guestPrefix}-i`));
  const none: NodeState = { links: [], routes: [], fdb: [], sysctls: {} };
  const [node, read] = await Promise.all([
    nodeNetnsExists ? observeNode(opts.nodeNetns) : Promise.resolve(none),
    observeGuests(ours.filter((ns) => !opts.skip?.has(ns))),
  ]);
  const guests: Record<string, ObservedGuest> = {};
  const vanished = new Set<string>();
  ours
    .filter((ns) => !opts.skip?.has(ns))
    .forEach((ns, i) => {
      const g = read[i];
      if (g) guests[ns] = g;
      else vanished.add(ns);
    });
  return {
    nodeNetns: opts.nodeNetns,
    nodeNetnsExists,
    ...node,
    namespaces: namespaces.filter((n) => !vanished.has(n)),
    guests,
  };
}

/** Reads only what a push of changed ports touches (index.ts decides when that is enough): the
 * named links of the node namespace, and the named guest namespaces (those that exist). Node-wide
 * facts the planner needs but these ports cannot change (sysctls) come from `known`. Stale removal
 * then only sees these links and namespaces, so nothing else is ever deleted by it. */
export async function observeSome(opts: {
  nodeNetns?: string;
  links: string[];
  namespaces: string[];
  known: Pick<Observed, "sysctls">;
}): Promise<Observed> {
  const all = await listNamespaces();
  const nodeNetnsExists = opts.nodeNetns === undefined || all.includes(opts.nodeNetns);
  if (!nodeNetnsExists) throw new Error(`node namespace ${opts.nodeNetns} is missing`);
  const present = new Set(all);
  const wanted = opts.namespaces.filter((ns) => present.has(ns));
  const names = [...new Set(opts.links)];
  const [r, read] = await Promise.all([
    names.length
      ? ipIn(
          opts.nodeNetns,
          ["-j", "-d", "-force", "-batch", "-"],
          names.map((n) => `addr show dev ${n}\n`).join(""),
        )
      : Promise.resolve({ code: 0, stdout: "", stderr: "" }),
    observeGuests(wanted),
  ]);
  const docs = splitForcedBatch(r.stdout, r.stderr, names.length);
  const unexplained = r.code !== 0 && !/Command failed -:\d+/.test(r.stderr);
  if (unexplained)
    throw new Error(`cannot read node namespace ${opts.nodeNetns ?? "(own)"}: ${r.stderr.trim()}`);
  const guests: Record<string, ObservedGuest> = {};
  wanted.forEach((ns, i) => {
    const g = read[i];
    if (g) guests[ns] = g;
  });
  return {
    nodeNetns: opts.nodeNetns,
    nodeNetnsExists,
    links: docs.flatMap((d) => parseLinks(d)),
    routes: [],
    fdb: [],
    sysctls: opts.known.sysctls,
    namespaces: wanted.filter((ns) => guests[ns]),
    guests,
  };
}
