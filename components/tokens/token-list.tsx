"use client";
// A table of API tokens with Revoke (confirmed); used for the caller's own and, for admins, everyone's.
import type { ReactNode } from "react";
import { formatDateTime } from "../format";
import { Button } from "../ui/button";
import { type Column, DataTable } from "../ui/data-table";
import { Badge, type Tone } from "../ui/misc";

export type TokenRow = {
  id: number;
  name: string;
  prefix: string;
  readOnly: boolean;
  state: "active" | "expired" | "revoked";
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  username?: string | null;
};

const STATE_TONE: Record<TokenRow["state"], Tone> = { active: "green", expired: "amber", revoked: "gray" };

export function TokenTable({
  label,
  rows,
  loading,
  empty,
  showUser,
  onRevoke,
}: {
  label: string;
  rows: TokenRow[] | undefined;
  loading: boolean;
  empty: ReactNode;
  showUser?: boolean;
  onRevoke: (t: TokenRow) => void;
}) {
  const columns: Column<TokenRow>[] = [
    ...(showUser
      ? [
          {
            key: "user",
            header: "User",
            cell: (t: TokenRow) => <span className="font-medium">{t.username}</span>,
          },
        ]
      : []),
    { key: "name", header: "Name", cell: (t) => <span className="font-medium">{t.name}</span> },
    {
      key: "prefix",
      header: "Token",
      cell: (t) => <code className="font-mono text-[13px]">{t.prefix}…</code>,
    },
    {
      key: "access",
      header: "Access",
      cell: (t) => (
        <Badge tone={t.readOnly ? "blue" : "amber"}>{t.readOnly ? "read-only" : "read-write"}</Badge>
      ),
    },
    { key: "state", header: "State", cell: (t) => <Badge tone={STATE_TONE[t.state]}>{t.state}</Badge> },
    { key: "created", header: "Created", cell: (t) => formatDateTime(t.createdAt) },
    { key: "expires", header: "Expires", cell: (t) => (t.expiresAt ? formatDateTime(t.expiresAt) : "never") },
    {
      key: "used",
      header: "Last used",
      cell: (t) => (t.lastUsedAt ? formatDateTime(t.lastUsedAt) : "never"),
    },
    {
      key: "actions",
      header: "Actions",
      className: "text-right",
      cell: (t) => (
        <Button
          size="sm"
          variant="ghost"
          aria-label={`Revoke token ${t.name}`}
          disabled={t.state === "revoked"}
          onClick={() => onRevoke(t)}
        >
          Revoke
        </Button>
      ),
    },
  ];
  return (
    <DataTable
      label={label}
      columns={columns}
      rows={rows}
      rowKey={(t) => t.id}
      loading={loading}
      empty={empty}
    />
  );
}
