"use client";
// One line on the Nodes page about the database backups: when the last scheduled one was taken,
// or that none is scheduled (then `npm run db -- backup` is the way).
import { useQuery } from "@tanstack/react-query";
import { formatDateTime, timeAgo } from "../format";
import { useTRPC } from "../trpc";
import { Badge } from "../ui/misc";

const mib = (bytes?: number) => (bytes === undefined ? "" : `${(bytes / 1024 / 1024).toFixed(1)} MiB`);

export function BackupStatus({ now }: { now: number }) {
  const trpc = useTRPC();
  const q = useQuery({ ...trpc.node.backups.queryOptions(), refetchInterval: 10_000 });
  if (q.isPending) return <p className="text-sm text-slate-500">Loading backup status…</p>;
  if (q.isError) return <p className="text-sm text-red-700">Backup status unavailable: {q.error.message}</p>;
  const b = q.data;
  if (!b.scheduled)
    return (
      <p className="text-sm text-slate-600" data-testid="backup-status">
        <Badge tone="amber">no backup schedule</Badge> Set <code>BRIDGEHEAD_BACKUP_DIR</code> to back up the
        database on a schedule, or run <code>npm run db -- backup FILE</code>.
      </p>
    );
  const last = b.last;
  return (
    <div className="flex flex-wrap items-center gap-x-2 gap-y-1 text-sm" data-testid="backup-status">
      <Badge tone={b.overdue || last?.error ? "red" : "green"}>
        {last?.error ? "last backup failed" : b.overdue ? "backup overdue" : "backed up"}
      </Badge>
      <span>
        Last backup{" "}
        {last?.okAt ? (
          <strong title={formatDateTime(last.okAt)} data-testid="backup-last">
            {timeAgo(last.okAt, now)}
          </strong>
        ) : (
          <strong data-testid="backup-last">never</strong>
        )}
        {last?.okFile && (
          <span className="text-slate-500">
            {" "}
            ({last.okFile}
            {last.file === last.okFile && last.bytes !== undefined ? `, ${mib(last.bytes)}` : ""})
          </span>
        )}
      </span>
      <span className="text-slate-500">
        · every {b.intervalMin >= 60 ? `${b.intervalMin / 60} h` : `${b.intervalMin} min`} to {b.dir}, newest{" "}
        {b.keep} kept · next {timeAgo(b.nextAt, now)}
      </span>
      {last?.error && (
        <span className="w-full text-red-700" data-testid="backup-error">
          {formatDateTime(last.at)}: {last.error}
        </span>
      )}
    </div>
  );
}
