// How peers enforce the same security-group policy, for `npm run bench -- sg`:
// - Neutron's iptables firewall driver: per-port chains (`i` inbound, `o` outbound) reached through
//   `physdev` matches, the whole filter table loaded by one `iptables-restore`; a group change
//   rewrites only the chains that changed (`--noflush`, each changed chain redeclared).
// - OpenNebula's security-group driver: the same per-port chains, built with one `iptables` call
//   per chain and per rule.
// Both run in the node namespace through nsenter (as the agent does), on the ports the agent made.

import { run } from "../../agent/dataplane/run";
import type { StoredRule } from "../../lib/sg";
import { parsePortRange } from "../../lib/sg";

const chainIn = (port: string) => `bh-i-${port}`;
const chainOut = (port: string) => `bh-o-${port}`;

/** One SG rule as iptables match arguments (without chain and verdict). */
export function iptablesMatch(r: StoredRule): string[] {
  const a: string[] = [];
  if (r.protocol === "TCP" || r.protocol === "UDP") a.push("-p", r.protocol.toLowerCase());
  if (r.protocol === "ICMP") a.push("-p", "icmp");
  if (r.protocol === "IPSEC") a.push("-p", "esp");
  if (r.ip) {
    const [o1, o2, o3, o4] = r.ip.split(".").map(Number) as [number, number, number, number];
    const last = ((o1 << 24) | (o2 << 16) | (o3 << 8) | o4) + (r.size ?? 1) - 1;
    const end = [24, 16, 8, 0].map((s) => (last >>> s) & 255).join(".");
    a.push("-m", "iprange", r.direction === "INBOUND" ? "--src-range" : "--dst-range", `${r.ip}-${end}`);
  }
  if (r.range) {
    const spans = parsePortRange(r.range).map(([x, y]) => (x === y ? `${x}` : `${x}:${y}`));
    a.push("-m", "multiport", "--dports", spans.join(","));
  }
  if (r.icmpType !== undefined) a.push("--icmp-type", String(r.icmpType));
  return a;
}

const chainRules = (chain: string, rules: StoredRule[]) => [
  `-A ${chain} -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN`,
  ...rules.map((r) => `-A ${chain} ${iptablesMatch(r).join(" ")} -j RETURN`),
  `-A ${chain} -j DROP`,
];

/** The whole filter table for `ports`, Neutron-style, as iptables-restore input. */
export function neutronFull(ports: string[], rules: StoredRule[]): string {
  const inbound = rules.filter((r) => r.direction === "INBOUND");
  const outbound = rules.filter((r) => r.direction === "OUTBOUND");
  const lines = ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]"];
  for (const p of ports) lines.push(`:${chainIn(p)} - [0:0]`, `:${chainOut(p)} - [0:0]`);
  for (const p of ports) {
    lines.push(
      `-A FORWARD -m physdev --physdev-out ${p} --physdev-is-bridged -j ${chainIn(p)}`,
      `-A FORWARD -m physdev --physdev-in ${p} --physdev-is-bridged -j ${chainOut(p)}`,
    );
  }
  for (const p of ports) lines.push(...chainRules(chainIn(p), inbound), ...chainRules(chainOut(p), outbound));
  lines.push("COMMIT", "");
  return lines.join("\n");
}

/** Neutron's update after a group change: only the changed direction's chains, redeclared. */
export function neutronChange(
  ports: string[],
  rules: StoredRule[],
  direction: "INBOUND" | "OUTBOUND",
): string {
  const chain = direction === "INBOUND" ? chainIn : chainOut;
  const sel = rules.filter((r) => r.direction === direction);
  const lines = ["*filter"];
  for (const p of ports) lines.push(`:${chain(p)} - [0:0]`);
  for (const p of ports) lines.push(...chainRules(chain(p), sel));
  lines.push("COMMIT", "");
  return lines.join("\n");
}

/** The backend the per-rule comparison uses (see perRule). */
export const PER_RULE_BACKEND: IptablesBackend = "nft";
const PER_RULE_TOOL = `iptables-${PER_RULE_BACKEND}`;

const nsArgs = (ns: string, cmd: string, args: string[]) => [`--net=/run/netns/${ns}`, cmd, ...args];

/** iptables' two backends on Debian: `legacy` is x_tables (the kernel takes the whole table as one
 * blob; Neutron's classic setup, the usual reference figure), `nft` is iptables-nft, Debian's
 * default `iptables`, which translates each rule into nf_tables. */
export type IptablesBackend = "legacy" | "nft";
const tool = (backend: IptablesBackend, cmd: "iptables" | "iptables-restore") =>
  cmd.replace("iptables", `iptables-${backend}`);

/** An empty filter table, to reset a backend between runs (both backends filter when loaded). */
export const EMPTY_FILTER =
  "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n";

/** Runs iptables-restore of `backend` in `ns` with `text`; returns milliseconds. */
export async function restore(
  ns: string,
  text: string,
  noflush: boolean,
  backend: IptablesBackend,
): Promise<number> {
  const t0 = performance.now();
  const cmd = tool(backend, "iptables-restore");
  const r = await run("nsenter", nsArgs(ns, cmd, noflush ? ["--noflush"] : []), text);
  if (r.code !== 0) throw new Error(`${cmd} failed: ${r.stderr.slice(0, 500)}`);
  return performance.now() - t0;
}

/** The version line of a backend's iptables, e.g. "iptables v1.8.9 (legacy)". */
export async function iptablesVersion(backend: IptablesBackend): Promise<string> {
  return (await run(tool(backend, "iptables"), ["--version"])).stdout.trim();
}

/** OpenNebula-style: one `iptables` process per chain and per rule; returns milliseconds. Run on
 * the nft backend (Debian's default `iptables`): with legacy every call rewrites the whole table
 * blob, which at 46,000 rules would take hours, not a measurement. */
export async function perRule(ns: string, text: string): Promise<number> {
  const cmds = text
    .split("\n")
    .filter((l) => l.startsWith(":") || l.startsWith("-A"))
    .filter((l) => !/^:(INPUT|FORWARD|OUTPUT) /.test(l))
    .map((l) => (l.startsWith(":") ? ["-N", l.slice(1).split(" ")[0]!] : l.split(" ")));
  const t0 = performance.now();
  for (const args of cmds) {
    const r = await run("nsenter", nsArgs(ns, PER_RULE_TOOL, args));
    if (r.code !== 0 && !/already exists/.test(r.stderr))
      throw new Error(`iptables ${args.join(" ")} failed: ${r.stderr.slice(0, 300)}`);
  }
  return performance.now() - t0;
}

/** OpenNebula's update: flush each changed chain and re-add its rules, one process per call. */
export async function perRuleChange(ns: string, text: string): Promise<number> {
  const lines = text.split("\n");
  const chains = lines.filter((l) => l.startsWith(":")).map((l) => l.slice(1).split(" ")[0]!);
  const t0 = performance.now();
  for (const c of chains) await run("nsenter", nsArgs(ns, PER_RULE_TOOL, ["-F", c]));
  const ms = performance.now() - t0;
  return ms + (await perRule(ns, lines.filter((l) => l.startsWith("-A")).join("\n")));
}
