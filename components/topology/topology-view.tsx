"use client";
// The topology view: VNETs on top, the nodes hosting them below (lines: a VNET on a node, dashed
// for VXLAN — the tunnels between its nodes), instances and their NICs inside their node's box,
// everything coloured by state and a click away from its page. Filters by VNET, node and owner; at
// fleet size the boxes group instances per VNET and lines are drawn for one VNET at a time.
import "@xyflow/react/dist/style.css";
import { useQuery } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import {
  Background,
  Controls,
  type Edge,
  Handle,
  type Node,
  type NodeProps,
  Position,
  ReactFlow,
} from "@xyflow/react";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { memo, useMemo, useState } from "react";
import type { AppRouter } from "@/server/routers/root";
import { useTRPC } from "../trpc";
import { Select } from "../ui/field";
import { Badge, EmptyState, LoadFailed, Panel, Skeleton } from "../ui/misc";
import { GROUP_ABOVE, HOST_W, layout } from "./layout";

type Topology = inferRouterOutputs<AppRouter>["topology"]["get"];
type NodeState = Topology["nodes"][number]["state"];

const PALETTE = [
  "#0369a1",
  "#7c3aed",
  "#b45309",
  "#047857",
  "#be123c",
  "#4338ca",
  "#0f766e",
  "#a21caf",
  "#4d7c0f",
  "#c2410c",
];
const STATE: Record<NodeState, { label: string; tone: "green" | "amber" | "red" | "gray"; ring: string }> = {
  "in-sync": { label: "in sync", tone: "green", ring: "ring-green-300" },
  outdated: { label: "outdated", tone: "amber", ring: "ring-amber-300" },
  error: { label: "error", tone: "red", ring: "ring-red-400" },
  disconnected: { label: "disconnected", tone: "gray", ring: "ring-slate-300" },
  pending: { label: "not enrolled", tone: "gray", ring: "ring-slate-300" },
  revoked: { label: "revoked", tone: "gray", ring: "ring-slate-300" },
};
/** Beyond this many VNET → node lines, only the picked or hovered VNET's are drawn. */
const MAX_EDGES = 200;

type Row =
  | { kind: "instance"; id: number; name: string; nics: { vnetId: number; ip: string | null }[] }
  | { kind: "group"; vnetId: number; vnetName: string; count: number };

type HostData = {
  name: string;
  state: NodeState;
  error?: string;
  rows: Row[];
  total: number;
  grouped: boolean;
  expanded: boolean;
  color: (vnetId: number) => string;
  onToggle: () => void;
  onInstance: (name: string) => void;
};
type VnetData = {
  id: number;
  name: string;
  driver: string;
  vni: number | null;
  color: string;
  onOpen: () => void;
};

const HostBox = memo(function HostBox({ data }: NodeProps<Node<HostData>>) {
  const s = STATE[data.state];
  return (
    <div
      className={`rounded-lg bg-white text-xs shadow-sm ring-2 ${s.ring}`}
      style={{ width: HOST_W }}
      data-testid="topology-node"
      data-state={data.state}
    >
      <Handle type="target" position={Position.Top} className="!opacity-0" />
      <div className="flex items-center justify-between gap-2 border-b border-slate-100 px-3 py-2">
        <Link
          // Not prefetched: fifty node links would each fetch the Nodes page up front.
          prefetch={false}
          href={`/nodes?q=${encodeURIComponent(data.name)}`}
          className="truncate font-semibold text-sky-800 hover:underline"
        >
          {data.name}
        </Link>
        <Badge tone={s.tone} title={data.error}>
          {s.label}
        </Badge>
      </div>
      <ul className="px-2 py-1">
        {data.rows.length === 0 && <li className="px-1 py-1 text-slate-400">no instances</li>}
        {data.rows.map((r) =>
          r.kind === "group" ? (
            <li key={`g${r.vnetId}`} className="flex h-6 items-center gap-2 px-1">
              <span
                className="h-2.5 w-2.5 shrink-0 rounded-full"
                style={{ background: data.color(r.vnetId) }}
              />
              <span className="truncate">{r.vnetName}</span>
              <span className="ml-auto tabular-nums text-slate-500">×{r.count}</span>
            </li>
          ) : (
            <li key={r.id} className="h-6">
              <button
                type="button"
                onClick={() => data.onInstance(r.name)}
                className="flex h-6 w-full items-center gap-1.5 rounded px-1 text-left hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-sky-600"
              >
                {r.nics.map((n, i) => (
                  <span
                    // biome-ignore lint/suspicious/noArrayIndexKey: a NIC's position is its identity here
                    key={i}
                    className="h-2.5 w-2.5 shrink-0 rounded-full"
                    style={{ background: data.color(n.vnetId) }}
                  />
                ))}
                <span className="truncate font-medium">{r.name}</span>
                <span className="ml-auto truncate font-mono text-[11px] text-slate-500">
                  {r.nics.map((n) => n.ip ?? "—").join(", ")}
                </span>
              </button>
            </li>
          ),
        )}
      </ul>
      {data.total > GROUP_ABOVE && (
        <button
          type="button"
          onClick={data.onToggle}
          className="w-full border-t border-slate-100 px-3 py-1 text-left text-sky-800 hover:bg-slate-50"
        >
          {data.expanded ? "Group by VNET" : `Show all ${data.total} instances`}
        </button>
      )}
    </div>
  );
});

const VnetBox = memo(function VnetBox({ data }: NodeProps<Node<VnetData>>) {
  return (
    <button
      type="button"
      onClick={data.onOpen}
      data-testid="topology-vnet"
      className="flex h-14 w-[200px] flex-col justify-center rounded-lg px-3 text-left text-xs text-white shadow-sm hover:brightness-110 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-600"
      style={{ background: data.color }}
    >
      <span className="truncate text-sm font-semibold">{data.name}</span>
      <span className="opacity-90">{data.driver === "vxlan" ? `VXLAN ${data.vni ?? ""}` : data.driver}</span>
      <Handle type="source" position={Position.Bottom} className="!opacity-0" />
    </button>
  );
});

const NODE_TYPES = { host: HostBox, vnet: VnetBox };
const count = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;

export function TopologyView() {
  const trpc = useTRPC();
  const router = useRouter();
  const q = useQuery({ ...trpc.topology.get.queryOptions(), refetchInterval: 5_000 });
  const [vnetFilter, setVnetFilter] = useState("");
  const [nodeFilter, setNodeFilter] = useState("");
  const [ownerFilter, setOwnerFilter] = useState("");
  const [expanded, setExpanded] = useState<Set<number>>(new Set());
  const [hovered, setHovered] = useState<number | null>(null);

  const owners = useMemo(() => {
    const m = new Map<string, string>();
    for (const i of q.data?.instances ?? []) m.set(i.ownerId, i.ownerName);
    return [...m].sort((a, b) => a[1].localeCompare(b[1]));
  }, [q.data]);

  const graph = useMemo(() => {
    const t = q.data;
    if (!t) return null;
    const vnetId = vnetFilter ? Number(vnetFilter) : null;
    const nodeId = nodeFilter ? Number(nodeFilter) : null;
    const colorOf = new Map(t.vnets.map((v, i) => [v.id, PALETTE[i % PALETTE.length]!]));
    const color = (id: number) => colorOf.get(id) ?? "#64748b";
    const vnetName = new Map(t.vnets.map((v) => [v.id, v.name]));
    const nicsOf = new Map<number, { vnetId: number; ip: string | null }[]>();
    for (const n of t.nics)
      nicsOf.set(n.instanceId, [...(nicsOf.get(n.instanceId) ?? []), { vnetId: n.vnetId, ip: n.ip }]);
    const instances = t.instances.filter(
      (i) =>
        (nodeId === null || i.nodeId === nodeId) &&
        (!ownerFilter || i.ownerId === ownerFilter) &&
        (vnetId === null || (nicsOf.get(i.id) ?? []).some((n) => n.vnetId === vnetId)),
    );
    const filtered = vnetId !== null || nodeId !== null || !!ownerFilter;
    const byHost = new Map<number, typeof instances>();
    for (const i of instances) byHost.set(i.nodeId, [...(byHost.get(i.nodeId) ?? []), i]);
    const hosts = t.nodes.filter((n) => (nodeId === null ? !filtered || byHost.has(n.id) : n.id === nodeId));
    const shownHosts = new Set(hosts.map((h) => h.id));
    // A VNET is drawn on the nodes where a shown instance has a NIC on it.
    const vnetHosts = new Map<number, Set<number>>();
    for (const i of instances)
      for (const n of nicsOf.get(i.id) ?? []) {
        if (!vnetHosts.has(n.vnetId)) vnetHosts.set(n.vnetId, new Set());
        vnetHosts.get(n.vnetId)!.add(i.nodeId);
      }
    const vnets = t.vnets.filter((v) =>
      vnetId === null ? !filtered || vnetHosts.has(v.id) : v.id === vnetId,
    );
    const rowsOf = (hostId: number): { rows: Row[]; grouped: boolean; total: number } => {
      const list = byHost.get(hostId) ?? [];
      if (list.length <= GROUP_ABOVE || expanded.has(hostId))
        return {
          total: list.length,
          grouped: false,
          rows: list.map((i) => ({ kind: "instance", id: i.id, name: i.name, nics: nicsOf.get(i.id) ?? [] })),
        };
      const counts = new Map<number, number>();
      for (const i of list)
        for (const n of nicsOf.get(i.id) ?? []) counts.set(n.vnetId, (counts.get(n.vnetId) ?? 0) + 1);
      return {
        total: list.length,
        grouped: true,
        rows: [...counts]
          .sort((a, b) => b[1] - a[1])
          .map(([v, count]) => ({
            kind: "group",
            vnetId: v,
            vnetName: vnetName.get(v) ?? `VNET ${v}`,
            count,
          })),
      };
    };
    const rows = new Map(hosts.map((h) => [h.id, rowsOf(h.id)]));
    const placed = layout({
      vnets: vnets.map((v) => ({
        id: v.id,
        nodeIds: [...(vnetHosts.get(v.id) ?? [])].filter((n) => shownHosts.has(n)),
      })),
      hosts: hosts.map((h) => ({ id: h.id, rows: rows.get(h.id)!.rows.length })),
      perRow: Math.max(3, Math.ceil(Math.sqrt(hosts.length * 1.5))),
    });
    const nodes: Node[] = [
      ...vnets.map((v) => ({
        id: `v${v.id}`,
        type: "vnet",
        position: { x: placed.vnets.get(v.id)!.x, y: placed.vnets.get(v.id)!.y },
        // Sizes known up front: React Flow then fits the view without measuring every box first.
        width: placed.vnets.get(v.id)!.width,
        height: placed.vnets.get(v.id)!.height,
        data: {
          id: v.id,
          name: v.name,
          driver: v.driver,
          vni: v.vni,
          color: color(v.id),
          onOpen: () => router.push(`/vnets/${v.id}`),
        } satisfies VnetData,
        draggable: false,
      })),
      ...hosts.map((h) => ({
        id: `n${h.id}`,
        type: "host",
        position: { x: placed.hosts.get(h.id)!.x, y: placed.hosts.get(h.id)!.y },
        width: placed.hosts.get(h.id)!.width,
        height: placed.hosts.get(h.id)!.height,
        data: {
          name: h.name,
          state: h.state,
          ...("error" in h && h.error ? { error: h.error } : {}),
          ...rows.get(h.id)!,
          expanded: expanded.has(h.id),
          color,
          onToggle: () =>
            setExpanded((s) => {
              const next = new Set(s);
              if (next.has(h.id)) next.delete(h.id);
              else next.add(h.id);
              return next;
            }),
          onInstance: (name: string) => router.push(`/instances?search=${encodeURIComponent(name)}`),
        } satisfies HostData,
        draggable: false,
      })),
    ];
    const allEdges: Edge[] = vnets.flatMap((v) =>
      [...(vnetHosts.get(v.id) ?? [])]
        .filter((n) => shownHosts.has(n))
        .map((n) => ({
          id: `e${v.id}-${n}`,
          source: `v${v.id}`,
          target: `n${n}`,
          data: { vnetId: v.id },
          style: {
            stroke: color(v.id),
            strokeWidth: 1.5,
            ...(v.driver === "vxlan" ? { strokeDasharray: "6 4" } : {}),
          },
        })),
    );
    return {
      nodes,
      allEdges,
      counts: { nodes: hosts.length, vnets: vnets.length, instances: instances.length },
    };
  }, [q.data, vnetFilter, nodeFilter, ownerFilter, expanded, router]);

  const tooMany = (graph?.allEdges.length ?? 0) > MAX_EDGES;
  const focus = vnetFilter ? Number(vnetFilter) : hovered;
  const edges = useMemo(
    () =>
      !graph
        ? []
        : tooMany
          ? graph.allEdges.filter((e) => (e.data as { vnetId: number }).vnetId === focus)
          : graph.allEdges,
    [graph, tooMany, focus],
  );

  if (q.isError)
    return (
      <Panel>
        <LoadFailed what="the topology" query={q} />
      </Panel>
    );
  if (!q.data || !graph)
    return (
      <Panel>
        <div className="p-4" aria-busy="true">
          <Skeleton className="h-[560px] w-full" />
        </div>
      </Panel>
    );
  if (q.data.instances.length === 0 && q.data.vnets.length === 0 && q.data.nodes.length === 0)
    return (
      <Panel>
        <EmptyState title="Nothing to draw yet">
          Create a{" "}
          <Link href="/vnets" className="text-sky-800 hover:underline">
            VNET
          </Link>{" "}
          and an{" "}
          <Link href="/instances" className="text-sky-800 hover:underline">
            instance
          </Link>{" "}
          with a NIC on it; they appear here with the nodes that host them.
        </EmptyState>
      </Panel>
    );

  return (
    <Panel>
      <div className="flex flex-wrap items-center gap-3 border-b border-slate-200 px-4 py-3 text-sm">
        <FilterSelect
          label="VNET"
          all="All VNETs"
          value={vnetFilter}
          onChange={setVnetFilter}
          options={q.data.vnets.map((v) => [String(v.id), v.name])}
        />
        {q.data.nodes.length > 0 && (
          <FilterSelect
            label="Node"
            all="All nodes"
            value={nodeFilter}
            onChange={setNodeFilter}
            options={q.data.nodes.map((n) => [String(n.id), n.name])}
          />
        )}
        {owners.length > 1 && (
          <FilterSelect
            label="Owner"
            all="All owners"
            value={ownerFilter}
            onChange={setOwnerFilter}
            options={owners}
          />
        )}
        <span className="ml-auto text-slate-500" data-testid="topology-counts">
          {count(graph.counts.nodes, "node")} · {count(graph.counts.vnets, "VNET")} ·{" "}
          {count(graph.counts.instances, "instance")}
        </span>
      </div>
      {tooMany && focus === null && (
        <p className="border-b border-slate-200 bg-slate-50 px-4 py-2 text-xs text-slate-600" role="note">
          {graph.allEdges.length} VNET-to-node lines are too many to draw at once: pick a VNET above, or point
          at one, to see its nodes.
        </p>
      )}
      <figure className="h-[620px]" aria-label="Topology">
        <ReactFlow
          nodes={graph.nodes}
          edges={edges}
          nodeTypes={NODE_TYPES}
          fitView
          minZoom={0.05}
          nodesConnectable={false}
          elementsSelectable={false}
          onNodeMouseEnter={(_e, n) => n.type === "vnet" && setHovered(Number(n.id.slice(1)))}
          onNodeMouseLeave={() => setHovered(null)}
          proOptions={{ hideAttribution: true }}
        >
          <Background gap={24} color="#e2e8f0" />
          <Controls showInteractive={false} />
        </ReactFlow>
      </figure>
      <div className="flex flex-wrap items-center gap-3 border-t border-slate-200 px-4 py-2 text-xs text-slate-600">
        {(["in-sync", "outdated", "error", "disconnected"] as const).map((s) => (
          <Badge key={s} tone={STATE[s].tone}>
            {STATE[s].label}
          </Badge>
        ))}
        <span>solid line: bridge or VLAN on the node · dashed: VXLAN (tunnels between those nodes)</span>
      </div>
    </Panel>
  );
}

/** One labelled filter of the toolbar: "all" or one of `options` ([value, label]). */
function FilterSelect(props: {
  label: string;
  all: string;
  value: string;
  onChange: (v: string) => void;
  options: [string, string][];
}) {
  const id = `topology-${props.label.toLowerCase()}`;
  return (
    <span className="flex items-center gap-2">
      <label htmlFor={id} className="text-slate-600">
        {props.label}
      </label>
      <Select id={id} value={props.value} onChange={(e) => props.onChange(e.target.value)}>
        <option value="">{props.all}</option>
        {props.options.map(([v, label]) => (
          <option key={v} value={v}>
            {label}
          </option>
        ))}
      </Select>
    </span>
  );
}
