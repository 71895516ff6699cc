// Hoster compatibility: its network_config.json (a JSON array of networks) in and out.
// "bridge_interface": "None" is Hoster's internal network; any other value is the physical
// interface an external network is bridged to. Import is all-or-nothing.
import { and, asc, eq, inArray } from "drizzle-orm";
import { addressRanges, vnets } from "../../../db/schema";
import { intToIp4, ip4ToInt } from "../../../lib/domain";
import type { Subject } from "../../../lib/permissions";
import { hosterNetworkSchema, vnetCreateInput } from "../../../lib/schemas";
import type { App } from "../../app";
import type { Actor } from "../../audit";
import { permitted } from "../../authz";
import { invalid } from "../../errors";
import { mutate } from "../revision";
import { insertVnet } from "./vnet-create";

type Owner = Subject & { primaryGroupId: number };

/** The file's keys and our form's fields in the words a Hoster user knows them by. */
const WORDS: Record<string, string> = {
  network_name: "name",
  network_gateway: "gateway",
  network_subnet: "subnet",
  network_range_start: "range start",
  network_range_end: "range end",
  bridge_interface: "bridge interface",
  apply_bridge_address: "apply_bridge_address",
  comment: "comment",
  name: "name",
  description: "comment",
  gateway: "gateway",
  subnet: "subnet",
  firstIp: "range start",
  size: "range end",
  phydev: "bridge interface",
};

/** One validation issue as a sentence about the user's file ("gateway is missing"). */
function inUserWords(issue: { path: PropertyKey[]; message: string; code: string; input?: unknown }) {
  const key = String(issue.path[0] ?? "");
  const word = WORDS[key] ?? key;
  if (issue.code === "invalid_type" && issue.input === undefined) return `${word} is missing`;
  if (issue.code === "invalid_type")
    return `${word} must be ${key === "apply_bridge_address" ? "true or false" : "text"}, not ${JSON.stringify(issue.input)}`;
  return word ? `${word}: ${issue.message}` : issue.message;
}

/** Parses Hoster's file into VNET create inputs; a bad entry is refused naming it and its field. */
export function parseHosterConfig(json: string) {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (e) {
    throw invalid(`Not valid JSON: ${(e as Error).message}`, "json");
  }
  const list = Array.isArray(data) ? data : [data];
  if (!list.length) throw invalid("The file lists no networks", "json");
  return list.map((entry, i) => {
    const where = `Network ${i + 1}${typeof entry?.network_name === "string" ? ` (${entry.network_name})` : ""}`;
    const h = hosterNetworkSchema.safeParse(entry);
    if (typeof entry !== "object" || entry === null || Array.isArray(entry))
      throw invalid(
        `${where}: expected a network ({ "network_name": ... }), not ${JSON.stringify(entry)}`,
        "json",
      );
    if (!h.success) throw invalid(`${where}: ${inUserWords(h.error.issues[0]!)}`, "json");
    const n = h.data;
    const start = ip4ToInt(n.network_range_start);
    const end = ip4ToInt(n.network_range_end);
    if (end < start)
      throw invalid(
        `${where}: the range ends (${n.network_range_end}) before it starts (${n.network_range_start})`,
        "json",
      );
    const internal = n.bridge_interface === "None";
    const v = vnetCreateInput.safeParse({
      name: n.network_name,
      description: n.comment,
      networkType: internal ? "internal" : "external",
      phydev: internal ? "" : n.bridge_interface,
      subnet: n.network_subnet,
      gateway: n.network_gateway,
      firstIp: n.network_range_start,
      size: end - start + 1,
    });
    if (!v.success) throw invalid(`${where}: ${inUserWords(v.error.issues[0]!)}`, "json");
    return { ...v.data, applyBridgeAddress: n.apply_bridge_address, where };
  });
}

/** Creates one VNET per network of the file, in one transaction. */
export function importHoster(app: App, actor: Actor, owner: Owner, json: string) {
  const inputs = parseHosterConfig(json);
  return mutate(app, (tx) => {
    const created = inputs.map(({ where, ...input }) => {
      try {
        return insertVnet(tx, actor, owner, input);
      } catch (e) {
        if (e instanceof Error && "kind" in e) throw invalid(`${where}: ${e.message}`, "json");
        throw e;
      }
    });
    return created.map((v) => ({ id: v.id, name: v.name, bridge: v.bridge, warnings: v.warnings }));
  });
}

/** The VNETs `who` may USE as Hoster's file, and what the file cannot carry: it holds one IPv4
 * range with a gateway per network, so IPv6, further ranges and VNETs without IPv4 or a gateway
 * are named in `notCarried` instead of vanishing silently. */
export function exportHoster(app: App, who: Subject, ids?: number[]) {
  const rows = app.db
    .select()
    .from(vnets)
    .where(and(permitted(vnets, who, "use"), ids?.length ? inArray(vnets.id, ids) : undefined))
    .orderBy(asc(vnets.id))
    .all();
  const file = [];
  const notCarried: string[] = [];
  for (const v of rows) {
    const ranges = app.db
      .select()
      .from(addressRanges)
      .where(eq(addressRanges.vnetId, v.id))
      .orderBy(asc(addressRanges.id))
      .all();
    const ar = ranges.find((r) => r.ip);
    const missing = !ar?.ip
      ? "IPv4 range"
      : !v.context.subnet
        ? "subnet"
        : !v.context.gateway
          ? "gateway"
          : null;
    if (missing) {
      notCarried.push(
        `VNET ${v.name} is left out: it has no ${missing}, which every network of the file needs`,
      );
      continue;
    }
    const first = ar!;
    for (const r of ranges) {
      const v6 = r.globalPrefix ?? r.ulaPrefix ?? r.ip6;
      if (r.id !== first.id)
        notCarried.push(
          `VNET ${v.name}: range ${r.id} (${r.ip ?? v6 ?? r.mac}, ${r.size} addresses) — the file holds one range per network`,
        );
      else if (v6)
        notCarried.push(
          `VNET ${v.name}: the IPv6 addresses (${v6}) of range ${r.id} — the file holds IPv4 only`,
        );
    }
    if (v.context.gateway6) notCarried.push(`VNET ${v.name}: the IPv6 gateway ${v.context.gateway6}`);
    file.push({
      network_name: v.name,
      network_gateway: v.context.gateway!,
      network_subnet: v.context.subnet!,
      network_range_start: first.ip!,
      network_range_end: intToIp4((ip4ToInt(first.ip!) + first.size - 1) >>> 0),
      bridge_interface: v.networkType === "external" && v.phydev ? v.phydev : "None",
      apply_bridge_address: v.applyBridgeAddress,
      comment: v.description,
    });
  }
  return { file, notCarried };
}
