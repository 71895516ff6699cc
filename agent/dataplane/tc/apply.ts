// Observes and applies QoS (plan in plan.ts): three processes per reconcile at most — `ip -batch` for
// the ifb devices, one `tc -force -batch`, `ip -batch` for removals — whatever the port count.
// Each failed line is attributed to its NIC, and the creations of a failed NIC are undone
// (newest first), so a port never keeps half a QoS setup.

import { ip, runBatch, runIn, splitForcedBatch } from "../run";
import {
  ifbName,
  type ObservedTc,
  type PortQos,
  parseQdiscs,
  parseRedirect,
  type TcLine,
  type TcPlan,
} from "./plan";

interface IfbJson {
  ifname: string;
  ifalias?: string;
  flags?: string[];
  linkinfo?: { info_kind?: string };
}

/** Reads qdiscs of every device, our ifb devices, and the ingress redirect of each port that has an
 * ingress qdisc (one `tc -batch` for all of them). */
export async function observeTc(ns: string | undefined, want: PortQos[]): Promise<ObservedTc> {
  const q = await runIn(ns, "tc", ["-j", "qdisc", "show"]);
  if (q.code !== 0) throw new Error(`tc qdisc show: ${q.stderr.trim()}`);
  const qdiscs = parseQdiscs(q.stdout);
  const links = JSON.parse(
    (await ip(ns, ["-j", "-d", "link", "show", "type", "ifb"])).trim() || "[]",
  ) as IfbJson[];
  return withRedirects(ns, want, qdiscs, links);
}

/** Like observeTc, limited to the host veths of `want` and the ifb devices of `nicIds` (a push of
 * a few changed ports: what the others have is not read, and planTc leaves it alone). */
export async function observeTcFor(
  ns: string | undefined,
  want: PortQos[],
  nicIds: number[],
): Promise<ObservedTc> {
  const ifbs = nicIds.map(ifbName);
  const devs = [...want.map((p) => p.dev), ...ifbs];
  if (devs.length === 0) return { qdiscs: [], ifbs: [], redirects: {} };
  const input = (cmd: string, names: string[]) => names.map((d) => `${cmd} ${d}\n`).join("");
  const [q, l] = await Promise.all([
    runIn(ns, "tc", ["-j", "-force", "-batch", "-"], input("qdisc show dev", devs)),
    ifbs.length
      ? runIn(ns, "ip", ["-j", "-d", "-force", "-batch", "-"], input("link show dev", ifbs))
      : Promise.resolve({ code: 0, stdout: "", stderr: "" }),
  ]);
  // `tc -j qdisc show dev X` leaves the device out of each qdisc (only the all-devices listing
  // names it), and planTc matches qdiscs to ports by device: name them from the line that asked.
  const qdiscs = splitForcedBatch(q.stdout, q.stderr, devs.length).flatMap((doc, i) =>
    parseQdiscs(doc).map((x) => ({ ...x, dev: x.dev ?? (devs[i] as string) })),
  );
  const links = splitForcedBatch(l.stdout, l.stderr, ifbs.length)
    .flatMap((d) => (d ? (JSON.parse(d) as IfbJson[]) : []))
    .filter((x) => x.linkinfo?.info_kind === "ifb");
  return withRedirects(ns, want, qdiscs, links);
}

/** Completes an observation with the ingress redirect of each wanted port that has an ingress qdisc. */
async function withRedirects(
  ns: string | undefined,
  want: PortQos[],
  qdiscs: ObservedTc["qdiscs"],
  links: IfbJson[],
): Promise<ObservedTc> {
  const ingress = new Set(qdiscs.filter((x) => x.kind === "ingress").map((x) => x.dev));
  const devs = want.map((p) => p.dev).filter((d) => ingress.has(d));
  const redirects: ObservedTc["redirects"] = {};
  if (devs.length > 0) {
    const input = devs.map((d) => `filter show dev ${d} parent ffff:\n`).join("");
    const f = await runIn(ns, "tc", ["-j", "-batch", "-"], input);
    const docs = f.stdout.split("\n").filter((l) => l.trim());
    if (f.code !== 0 || docs.length !== devs.length) throw new Error(`tc filter show: ${f.stderr.trim()}`);
    devs.forEach((d, i) => {
      redirects[d] = parseRedirect(docs[i] ?? "");
    });
  }
  return {
    qdiscs,
    ifbs: links.map((l) => ({ name: l.ifname, alias: l.ifalias, up: (l.flags ?? []).includes("UP") })),
    redirects,
  };
}

export interface TcResult {
  ops: string[];
  /** NICs whose QoS could not be applied, with the reason. */
  failed: Map<number, string>;
  /** Failures not tied to one NIC (stale ifb removal, rollback). */
  errors: string[];
}

/** Runs a TcPlan; never throws for a kernel refusal. */
export async function applyTc(ns: string | undefined, plan: TcPlan): Promise<TcResult> {
  const out: TcResult = { ops: [], failed: new Map(), errors: [] };
  const ipText = (l: string) => `ip ${ns ? `-n ${ns} ` : ""}${l}`;
  const tcText = (l: string) => `tc ${ns ? `-n ${ns} ` : ""}${l}`;
  const undo: { l: TcLine; tc: boolean }[] = [];
  const phase = async (lines: TcLine[], tc: boolean) => {
    const live = lines.filter((l) => l.nicId === undefined || !out.failed.has(l.nicId));
    if (live.length === 0) return;
    out.ops.push(...live.map((l) => (tc ? tcText(l.line) : ipText(l.line))));
    const r = await runBatch(
      ns,
      live.map((l) => l.line),
      tc ? "tc" : "ip",
    );
    live.forEach((l, i) => {
      const err = r.fatal ?? r.failures.get(i);
      const text = tc ? tcText(l.line) : ipText(l.line);
      if (err === undefined) {
        if (l.undo) undo.push({ l, tc });
      } else if (l.nicId !== undefined) {
        if (!out.failed.has(l.nicId)) out.failed.set(l.nicId, `QoS: ${text}: ${err}`);
      } else if (!/Cannot find device/.test(err)) out.errors.push(`${text}: ${err}`);
    });
  };
  await phase(plan.ipAdd, false);
  await phase(plan.tc, true);
  await phase(plan.ipDel, false);
  // Roll back what this run created for NICs that failed: tc first (it points at the ifb), newest first.
  const todo = undo.filter((u) => u.l.nicId !== undefined && out.failed.has(u.l.nicId)).reverse();
  for (const tc of [true, false]) {
    const lines = todo.filter((u) => u.tc === tc).map((u) => u.l.undo as string);
    if (lines.length === 0) continue;
    out.ops.push(...lines.map(tc ? tcText : ipText));
    const r = await runBatch(ns, lines, tc ? "tc" : "ip");
    for (const [i, err] of r.failures) out.errors.push(`QoS rollback "${lines[i]}" failed: ${err}`);
    if (r.fatal) out.errors.push(`QoS rollback failed: ${r.fatal}`);
  }
  return out;
}
