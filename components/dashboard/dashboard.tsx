"use client";
// The home page: what needs attention first (nodes worst first, the fullest VNETs, NICs outdated or
// in error, recent repairs and failed applies), then the last audit entries; every item links to
// its object. Polled like the Nodes page, since agents report on their own schedule.
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import type { ReactNode } from "react";
import { timeAgo } from "../format";
import { useMe } from "../session";
import { useTRPC } from "../trpc";
import { Badge, LoadFailed, PageHeader, Panel, Skeleton, type Tone, UsageBar } from "../ui/misc";
import { useNow } from "../use-now";

const HEALTH_TONE: Record<string, Tone> = {
  error: "red",
  disconnected: "red",
  outdated: "amber",
  pending: "gray",
  "in sync": "green",
  revoked: "gray",
};

/** Where an audit entry's object lives in the portal. */
// End users reach only their own pages: users, groups, nodes and templates are admin pages, so their
// audit lines name those objects without a link that would end on "not allowed".
const ADMIN_ONLY_PAGES = new Set(["node", "certificate", "database", "user", "group", "template"]);

function objectHref(type: string | null, id: string | null, admin: boolean): string | null {
  if (!type) return null;
  if (!admin && ADMIN_ONLY_PAGES.has(type)) return null;
  switch (type) {
    case "vnet":
      return id ? `/vnets/${id}` : "/vnets";
    case "sg":
      return id ? `/security-groups/${id}` : "/security-groups";
    case "template":
      return id ? `/templates/${id}` : "/templates";
    case "node":
    case "certificate":
    case "database":
      return "/nodes";
    case "instance":
    case "nic":
      return "/instances";
    case "user":
      return "/users";
    case "group":
      return "/groups";
    case "token":
      return "/profile";
    default:
      return null;
  }
}

const linkClass =
  "font-medium text-sky-700 hover:underline focus-visible:outline-2 focus-visible:outline-sky-600";

function Item({ children }: { children: ReactNode }) {
  return <li className="flex items-start justify-between gap-3 px-4 py-2.5 text-sm">{children}</li>;
}

function AllGood({ children }: { children: ReactNode }) {
  return <p className="px-4 py-6 text-center text-sm text-slate-500">{children}</p>;
}

export function Dashboard() {
  const trpc = useTRPC();
  const me = useMe();
  const now = useNow(1000);
  const q = useQuery({ ...trpc.dashboard.get.queryOptions(), refetchInterval: 2000 });
  const admin = me.role === "admin";
  const header = (
    <PageHeader
      title="Overview"
      description={
        admin
          ? "What needs attention in the cloud, worst first. Refreshed every 2 seconds."
          : "Your networks and instances: what needs attention first. Refreshed every 2 seconds."
      }
    />
  );
  if (q.isError)
    return (
      <>
        {header}
        <Panel>
          <LoadFailed what="the overview" query={q} />
        </Panel>
      </>
    );
  if (!q.data)
    return (
      <>
        {header}
        <div className="grid grid-cols-2 gap-4">
          {[0, 1, 2, 3].map((i) => (
            <Panel key={i} className="p-4">
              <Skeleton className="mb-3 h-4 w-32" />
              <Skeleton className="h-16 w-full" />
            </Panel>
          ))}
        </div>
      </>
    );
  const d = q.data;
  return (
    <>
      {header}
      <div className="grid grid-cols-2 gap-4">
        {d.nodes && (
          <Panel
            title={`Nodes · ${d.nodes.connected} of ${d.nodes.total} connected`}
            actions={
              <Link href="/nodes" className={`${linkClass} text-sm`}>
                All nodes
              </Link>
            }
          >
            <section
              aria-label="Nodes by state"
              className="flex flex-wrap gap-2 border-b border-slate-100 px-4 py-3"
            >
              {(["error", "disconnected", "outdated", "pending", "in sync"] as const).map((s) => (
                <span key={s} data-testid={`nodes-${s.replace(" ", "-")}`}>
                  <Badge tone={d.nodes!.counts[s] ? HEALTH_TONE[s] : "gray"}>
                    {d.nodes!.counts[s]} {s}
                  </Badge>
                </span>
              ))}
            </section>
            {d.nodes.total === 0 ? (
              <AllGood>
                No nodes enrolled yet.{" "}
                <Link href="/nodes" className={linkClass}>
                  Enroll one
                </Link>
              </AllGood>
            ) : d.nodes.attention.length === 0 ? (
              <AllGood>Every connected node has applied its latest state.</AllGood>
            ) : (
              <ul aria-label="Nodes that need attention" className="divide-y divide-slate-100">
                {d.nodes.attention.map((n) => (
                  <Item key={n.id}>
                    <div className="min-w-0">
                      <Link
                        href={`/nodes?q=${encodeURIComponent(n.name)}#node-${n.id}`}
                        className={linkClass}
                      >
                        {n.name}
                      </Link>
                      <p className="truncate text-xs text-slate-500" title={n.lastError ?? undefined}>
                        {n.state === "disconnected"
                          ? `last seen ${n.lastSeenAt ? timeAgo(n.lastSeenAt, now) : "never"}`
                          : n.state === "outdated"
                            ? `applied revision ${n.appliedRevision} of ${n.desiredRevision}`
                            : (n.lastError ?? "")}
                      </p>
                    </div>
                    <Badge tone={HEALTH_TONE[n.state]}>{n.state}</Badge>
                  </Item>
                ))}
              </ul>
            )}
          </Panel>
        )}
        <Panel
          title={`Address use · fullest of ${d.vnets.total} VNET${d.vnets.total === 1 ? "" : "s"}`}
          actions={
            <Link href={admin ? "/vnets" : "/self-service"} className={`${linkClass} text-sm`}>
              {admin ? "All VNETs" : "Make a network"}
            </Link>
          }
        >
          {d.vnets.fullest.length === 0 ? (
            <AllGood>
              No VNETs yet.{" "}
              {admin && (
                <Link href="/vnets" className={linkClass}>
                  Create one
                </Link>
              )}
            </AllGood>
          ) : (
            <ul aria-label="VNETs by address use" className="divide-y divide-slate-100">
              {d.vnets.fullest.map((v) => (
                <Item key={v.id}>
                  <div className="min-w-0">
                    <Link href={`/vnets/${v.id}`} className={linkClass}>
                      {v.name}
                    </Link>
                    <p className="text-xs text-slate-500">
                      {v.size === 0
                        ? "no address range"
                        : v.used >= v.size
                          ? "full: add or resize an address range"
                          : `${v.size - v.used} free${v.held ? ` · ${v.held} on hold` : ""}`}
                    </p>
                  </div>
                  <UsageBar used={v.used} size={v.size} />
                </Item>
              ))}
            </ul>
          )}
        </Panel>
        <Panel
          title={`NICs · ${d.nics.error} in error, ${d.nics.outdated} outdated of ${d.nics.total}`}
          actions={
            <Link href="/instances" className={`${linkClass} text-sm`}>
              Instances
            </Link>
          }
        >
          {d.nics.attention.length === 0 ? (
            <AllGood>{d.nics.total === 0 ? "No NICs yet." : "Every NIC is up to date on its node."}</AllGood>
          ) : (
            <ul aria-label="NICs that need attention" className="divide-y divide-slate-100">
              {d.nics.attention.map((n) => (
                <Item key={n.nicId}>
                  <div className="min-w-0">
                    <Link href="/instances" className={linkClass}>
                      {n.name}
                    </Link>{" "}
                    <span className="text-xs text-slate-500">
                      on{" "}
                      <Link href={`/vnets/${n.vnetId}`} className="hover:underline">
                        {n.vnetName}
                      </Link>{" "}
                      · {n.nodeName}
                    </span>
                    {n.error && (
                      <p className="truncate text-xs text-red-700" title={n.error}>
                        {n.error}
                      </p>
                    )}
                  </div>
                  <Badge tone={n.status === "error" ? "red" : "amber"}>{n.status}</Badge>
                </Item>
              ))}
            </ul>
          )}
        </Panel>
        {d.events && (
          <Panel title="Recent drift repairs and apply errors">
            {d.events.length === 0 ? (
              <AllGood>No drift repaired and no failed apply recently.</AllGood>
            ) : (
              <ul aria-label="Recent agent events" className="divide-y divide-slate-100">
                {d.events.map((e) => (
                  <Item key={e.id}>
                    <div className="min-w-0">
                      <Link
                        href={`/nodes?q=${encodeURIComponent(e.objectName ?? "")}#node-${e.objectId}`}
                        className={linkClass}
                      >
                        {e.objectName}
                      </Link>
                      <p className="truncate text-xs text-slate-600" title={e.detail ?? undefined}>
                        {e.detail}
                      </p>
                    </div>
                    <div className="flex shrink-0 flex-col items-end gap-1">
                      <Badge tone={e.action === "agent.repair" ? "blue" : "red"}>
                        {e.action === "agent.repair" ? "repaired" : "apply failed"}
                      </Badge>
                      <span className="text-xs text-slate-500">{timeAgo(e.at, now)}</span>
                    </div>
                  </Item>
                ))}
              </ul>
            )}
          </Panel>
        )}
        <Panel
          className="col-span-2"
          title={admin ? "Last audit entries" : "Your recent activity"}
          actions={
            admin ? (
              <Link href="/audit" className={`${linkClass} text-sm`}>
                Audit log
              </Link>
            ) : undefined
          }
        >
          {d.audit.length === 0 ? (
            <AllGood>Nothing recorded yet.</AllGood>
          ) : (
            <ul aria-label="Last audit entries" className="divide-y divide-slate-100">
              {d.audit.map((e) => {
                const href = objectHref(e.objectType, e.objectId, admin);
                return (
                  <Item key={e.id}>
                    <div className="flex min-w-0 items-baseline gap-2">
                      <span className="w-16 shrink-0 text-xs text-slate-500">{timeAgo(e.at, now)}</span>
                      <span className="shrink-0 text-slate-700">{e.actor}</span>
                      <code className="shrink-0 text-xs text-slate-600">{e.action}</code>
                      {e.objectName &&
                        (href ? (
                          <Link href={href} className={`${linkClass} truncate`}>
                            {e.objectName}
                          </Link>
                        ) : (
                          <span className="truncate">{e.objectName}</span>
                        ))}
                      {e.detail && (
                        <span className="truncate text-xs text-slate-500" title={e.detail}>
                          {e.detail}
                        </span>
                      )}
                    </div>
                    {e.outcome !== "ok" && <Badge tone="red">{e.outcome}</Badge>}
                  </Item>
                );
              })}
            </ul>
          )}
        </Panel>
      </div>
    </>
  );
}
