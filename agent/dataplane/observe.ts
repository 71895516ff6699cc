// Reads what *is*: the node namespace's links and addresses, the named namespaces, and each of our
// guest namespaces — always through `ip -j` (JSON), never by scraping text output.
import { readdir } from "node:fs/promises";
import { ip, ipIn, pool } from "./run";
import type { Observed, ObservedGuest, ObservedLink, ObservedRoute } from "./types";

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
  linkinfo?: { info_kind?: string };
  addr_info?: { family: string; local: string; prefixlen: number }[];
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

/** Turns `ip -j -d addr show` output into ObservedLinks. */
export function parseLinks(json: string): ObservedLink[] {
  return parseJsonArray<IpLinkJson>(json, "ip -j addr show").map((l) => ({
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
  }));
}

/** Turns `ip -j route show default` output into routes. */
export function parseDefaultRoutes(json: string): ObservedRoute[] {
  return parseJsonArray<IpRouteJson>(json, "ip -j route show default")
    .filter((r) => r.dst === "default")
    .map((r) => ({ gateway: r.gateway, dev: r.dev }));
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

/** Reads one guest namespace in one process; undefined when it vanished meanwhile. */
async function observeGuest(ns: string): Promise<ObservedGuest | undefined> {
  const r = await ipIn(ns, ["-j", "-d", "-batch", "-"], "addr show\nroute show default\n");
  if (r.code === 0) return parseGuestBatch(r.stdout);
  if (!(await listNamespaces()).includes(ns)) return undefined;
  throw new Error(`cannot read guest namespace ${ns}: ${r.stderr.trim()}`);
}

/** How many guest namespaces are read at once (each read is one short `ip` process). */
const GUEST_READ_CONCURRENCY = 8;

/** Reads the node namespace and every guest namespace named `${guestPrefix}-i…`. */
export async function observe(opts: { nodeNetns?: string; guestPrefix: string }): Promise<Observed> {
  const namespaces = await listNamespaces();
  const nodeNetnsExists = opts.nodeNetns === undefined || namespaces.includes(opts.nodeNetns);
  const ours = namespaces.filter((n) => n.startsWith(`${opts.guestPrefix}-i`));
  const [nodeJson, read] = await Promise.all([
    nodeNetnsExists ? ip(opts.nodeNetns, ["-j", "-d", "addr", "show"]) : Promise.resolve(""),
    pool(ours, GUEST_READ_CONCURRENCY, observeGuest),
  ]);
  const guests: Record<string, ObservedGuest> = {};
  const vanished = new Set<string>();
  ours.forEach((ns, i) => {
    const g = read[i];
    if (g) guests[ns] = g;
    else vanished.add(ns);
  });
  return {
    nodeNetns: opts.nodeNetns,
    nodeNetnsExists,
    links: parseLinks(nodeJson),
    namespaces: namespaces.filter((n) => !vanished.has(n)),
    guests,
  };
}
