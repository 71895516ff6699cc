"use client";
// The REST API, browsable: /api/openapi.json read in the browser and shown by resource, each
// operation with its parameters, body fields, answer fields and a curl line. Built here rather than
// with a Swagger/Redoc bundle because that alone would weigh more than the rest of the portal.
import { useQuery } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import { Button } from "../ui/button";
import { CopyButton } from "../ui/copy-button";
import { cx } from "../ui/cx";
import { Badge, EmptyState, LoadFailed, PageHeader, Panel, Skeleton, type Tone } from "../ui/misc";

type Schema = {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: Schema[];
  oneOf?: Schema[];
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  description?: string;
};
type Parameter = { in: string; name: string; required?: boolean; schema?: Schema; description?: string };
type Operation = {
  operationId: string;
  summary?: string;
  tags?: string[];
  parameters?: Parameter[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: Schema }> }>;
};
type Doc = {
  info: { title: string; description?: string; version: string };
  paths: Record<string, Record<string, Operation>>;
};

const METHOD_TONE: Record<string, Tone> = {
  GET: "blue",
  POST: "green",
  PUT: "amber",
  PATCH: "amber",
  DELETE: "red",
};

/** One line for a schema's type: `integer ≥ 0`, `"internal" | "external"`, `string[]`, … */
export function typeText(s: Schema | undefined): string {
  if (!s) return "any";
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(" | ");
  const alts = s.anyOf ?? s.oneOf;
  if (alts) return [...new Set(alts.map(typeText))].join(" | ");
  const types = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
  if (types.includes("array")) return `${typeText(s.items)}[]`;
  const base = types.join(" | ") || (s.properties ? "object" : "any");
  const limits: string[] = [];
  if (s.minimum !== undefined && s.minimum !== 0) limits.push(`≥ ${s.minimum}`);
  if (s.minimum === 0) limits.push("≥ 0");
  if (s.maximum !== undefined && s.maximum < Number.MAX_SAFE_INTEGER) limits.push(`≤ ${s.maximum}`);
  if (s.minLength) limits.push(`${s.minLength}+ chars`);
  if (s.maxLength) limits.push(`≤ ${s.maxLength} chars`);
  if (s.format) limits.push(s.format);
  return [base, ...limits].join(" ");
}

function Fields({ schema, label }: { schema: Schema | undefined; label: string }) {
  const props = schema?.properties;
  if (!props || Object.keys(props).length === 0)
    return <p className="text-sm text-slate-600">{schema ? typeText(schema) : "Nothing"}</p>;
  const required = new Set(schema.required ?? []);
  return (
    <table className="w-full text-left text-sm" aria-label={label}>
      <thead>
        <tr className="border-b border-slate-200 text-xs uppercase tracking-wide text-slate-500">
          <th className="py-1 pr-4 font-medium">Field</th>
          <th className="py-1 pr-4 font-medium">Type</th>
          <th className="py-1 font-medium">Notes</th>
        </tr>
      </thead>
      <tbody>
        {Object.entries(props).map(([name, s]) => (
          <tr key={name} className="border-b border-slate-100 align-top">
            <td className="py-1 pr-4 font-mono text-[13px] whitespace-nowrap">
              {name}
              {required.has(name) && (
                <span className="text-red-600" title="required">
                  {" "}
                  *
                </span>
              )}
            </td>
            <td className="py-1 pr-4 font-mono text-[13px] break-all text-slate-700">{typeText(s)}</td>
            <td className="py-1 text-slate-600">
              {s.default !== undefined && `default ${JSON.stringify(s.default)}`}
              {s.pattern && <span className="ml-1 font-mono text-xs break-all">/{s.pattern}/</span>}
              {s.description}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function curlOf(origin: string, method: string, path: string, op: Operation): string {
  const url = `${origin}/api/v1${path.replace(/\{([^}]+)\}/g, (_m, p) => `<${p}>`)}`;
  const parts = [`curl -sS -X ${method} '${url}'`, `-H "Authorization: Bearer $BRIDGEHEAD_TOKEN"`];
  const body = op.requestBody?.content?.["application/json"]?.schema;
  if (body) {
    const example = Object.fromEntries(
      (body.required ?? []).map((k) => [k, body.properties?.[k]?.type === "number" ? 0 : "…"]),
    );
    parts.push(`-H 'Content-Type: application/json'`, `-d '${JSON.stringify(example)}'`);
  }
  return parts.join(" \\\n  ");
}

function OperationCard({
  method,
  path,
  op,
  origin,
}: {
  method: string;
  path: string;
  op: Operation;
  origin: string;
}) {
  const params = op.parameters ?? [];
  const body = op.requestBody?.content?.["application/json"]?.schema;
  const ok = op.responses?.["200"]?.content?.["application/json"]?.schema;
  const errors = Object.entries(op.responses ?? {}).filter(([code]) => code !== "200");
  const curl = curlOf(origin, method, path, op);
  return (
    <details
      className="group rounded-md border border-slate-200 bg-white"
      data-testid={`op-${op.operationId}`}
    >
      <summary className="flex cursor-pointer items-center gap-3 px-3 py-2 focus-visible:outline-2 focus-visible:outline-sky-600">
        <Badge tone={METHOD_TONE[method] ?? "gray"}>{method}</Badge>
        <code className="font-mono text-sm text-slate-900">{path}</code>
        <span className="min-w-0 truncate text-sm text-slate-600">{op.summary}</span>
      </summary>
      <div className="flex flex-col gap-4 border-t border-slate-100 px-3 py-3">
        {params.length > 0 && (
          <section>
            <h4 className="mb-1 text-xs font-semibold uppercase text-slate-500">Parameters</h4>
            <Fields
              label={`Parameters of ${method} ${path}`}
              schema={{
                type: "object",
                properties: Object.fromEntries(
                  params.map((p) => [`${p.name} (${p.in})`, { ...p.schema, description: p.description }]),
                ),
                required: params.filter((p) => p.required).map((p) => `${p.name} (${p.in})`),
              }}
            />
          </section>
        )}
        {body && (
          <section>
            <h4 className="mb-1 text-xs font-semibold uppercase text-slate-500">JSON body</h4>
            <Fields label={`Body of ${method} ${path}`} schema={body} />
          </section>
        )}
        <section>
          <h4 className="mb-1 text-xs font-semibold uppercase text-slate-500">Answer (200)</h4>
          <Fields label={`Answer of ${method} ${path}`} schema={ok} />
        </section>
        {errors.length > 0 && (
          <section>
            <h4 className="mb-1 text-xs font-semibold uppercase text-slate-500">Refusals</h4>
            <ul className="text-sm text-slate-600">
              {errors.map(([code, r]) => (
                <li key={code}>
                  <span className="font-mono">{code}</span> {r.description}
                </li>
              ))}
            </ul>
          </section>
        )}
        <section>
          <div className="mb-1 flex items-center justify-between">
            <h4 className="text-xs font-semibold uppercase text-slate-500">curl</h4>
            <CopyButton text={curl} label={`Copy curl for ${method} ${path}`} />
          </div>
          <pre className="overflow-x-auto rounded bg-slate-900 px-3 py-2 font-mono text-xs text-slate-100">
            {curl}
          </pre>
        </section>
      </div>
    </details>
  );
}

export function ApiReference() {
  const doc = useQuery({
    queryKey: ["openapi.json"],
    queryFn: async (): Promise<Doc> => {
      const res = await fetch("/api/openapi.json");
      if (!res.ok) throw new Error(`The API document could not be loaded (HTTP ${res.status})`);
      return res.json();
    },
    staleTime: Number.POSITIVE_INFINITY,
  });
  const [filter, setFilter] = useState("");
  const origin = typeof window === "undefined" ? "" : window.location.origin;
  const byTag = useMemo(() => {
    const groups = new Map<string, { method: string; path: string; op: Operation }[]>();
    const q = filter.trim().toLowerCase();
    for (const [path, item] of Object.entries(doc.data?.paths ?? {}))
      for (const [m, op] of Object.entries(item)) {
        const method = m.toUpperCase();
        if (q && !`${method} ${path} ${op.summary ?? ""}`.toLowerCase().includes(q)) continue;
        const tag = op.tags?.[0] ?? "other";
        groups.set(tag, [...(groups.get(tag) ?? []), { method, path, op }]);
      }
    return [...groups.entries()];
  }, [doc.data, filter]);
  return (
    <>
      <PageHeader
        title="REST API"
        description={
          <>
            Every call acts as the user of its API token (create one on your profile page) and answers with
            the same codes and field messages as the portal. The machine-readable document is{" "}
            <a className="font-medium text-sky-700 underline" href="/api/openapi.json">
              /api/openapi.json
            </a>{" "}
            (OpenAPI 3.1).
          </>
        }
        actions={
          <input
            type="search"
            aria-label="Filter operations"
            placeholder="Filter: vnets, POST, hold…"
            value={filter}
            onChange={(e) => setFilter(e.target.value)}
            className="w-64 rounded-md border border-slate-300 px-3 py-1.5 text-sm focus-visible:outline-2 focus-visible:outline-sky-600"
          />
        }
      />
      {doc.isPending ? (
        <div className="flex flex-col gap-2">
          {[0, 1, 2, 3].map((i) => (
            <Skeleton key={i} className="h-10 w-full" />
          ))}
        </div>
      ) : doc.isError ? (
        <LoadFailed what="the API document" query={doc} />
      ) : byTag.length === 0 ? (
        <EmptyState
          title={`No operation matches “${filter}”`}
          action={<Button onClick={() => setFilter("")}>Clear filter</Button>}
        />
      ) : (
        <div className="flex flex-col gap-6">
          {byTag.map(([tag, ops]) => (
            <Panel key={tag} title={tag}>
              <div className={cx("flex flex-col gap-2")}>
                {ops.map((o) => (
                  <OperationCard key={`${o.method} ${o.path}`} {...o} origin={origin} />
                ))}
              </div>
            </Panel>
          ))}
        </div>
      )}
    </>
  );
}
