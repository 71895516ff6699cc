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
    if (!h.success) {
      const issue = h.error.issues[0]!;
      throw invalid(`${where}: ${issue.path.join(".")}: ${issue.message}`, "json");
    }
    const n = h.data;
    const start = ip4ToInt(n.network_range_start);
    const end = ip4ToInt(n.network_range_end);
    if (end < start) throw invalid(`${where}: network_range_end comes before network_range_start`, "json");
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
    if (!v.success) {
      const issue = v.error.issues[0]!;
      throw invalid(`${where}: ${issue.path.join(".")}: ${issue.message}`, "json");
    }
    return { ...v.data, applyBridgeAddress: n.apply_bridge_address };
  });
}

/** Creates one VNET per network of the file, in one transaction. */
export function importHoster(app: App, actor: Actor, owner: Owner, json: string) {
  const inputs = parseHosterConfig(json);
  return mutate(app, (tx) => {
    const created = inputs.map((input) => {
      try {
        return insertVnet(tx, actor, owner, input);
      } catch (e) {
        if (e instanceof Error && "kind" in e) throw invalid(`Network ${input.name}: ${e.message}`, "json");
        throw e;
      }
    });
    return created.map((v) => ({ id: v.id, name: v.name, bridge: v.bridge, warnings: v.warnings }));
  });
}

/** The VNETs `who` may USE that Hoster can express (an IPv4 range and a gateway), as its file. */
export function exportHoster(app: App, who: Subject, ids?: number[]) {
  const rows = app.db
    .select()
    .from(vnets)
    .where(and(permitted(vnets, who, "use"), ids?.length ? inArray(vnets.id, ids) : undefined))
    .orderBy(asc(vnets.id))
    .all();
  const out = [];
  for (const v of rows) {
    const ar = app.db
      .select()
      .from(addressRanges)
      .where(eq(addressRanges.vnetId, v.id))
      .orderBy(asc(addressRanges.id))
      .all()
      .find((r) => r.ip);
    if (!ar?.ip || !v.context.gateway || !v.context.subnet) continue;
    out.push({
      network_name: v.name,
      network_gateway: v.context.gateway,
      network_subnet: v.context.subnet,
      network_range_start: ar.ip,
      network_range_end: intToIp4((ip4ToInt(ar.ip) + ar.size - 1) >>> 0),
      bridge_interface: v.networkType === "external" && v.phydev ? v.phydev : "None",
      apply_bridge_address: v.applyBridgeAddress,
      comment: v.description,
    });
  }
  return out;
}
