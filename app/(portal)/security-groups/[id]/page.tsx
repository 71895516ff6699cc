"use client";
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useParams } from "next/navigation";
import { SgEditor } from "@/components/sg/sg-editor";
import { errorCode, useTRPC } from "@/components/trpc";
import { LoadFailed, NotFound, PageHeader, Panel, Skeleton } from "@/components/ui/misc";

export default function SecurityGroupPage() {
  const params = useParams<{ id: string }>();
  const id = Number(params.id);
  const valid = Number.isInteger(id) && id >= 0;
  const trpc = useTRPC();
  // Live: the NICs' rollout status comes with the group, so poll it while the page is open.
  const sg = useQuery({ ...trpc.sg.get.queryOptions({ id }), enabled: valid, refetchInterval: 2_000 });

  const back = (
    <Link href="/security-groups" className="text-sky-800 hover:underline">
      ← All security groups
    </Link>
  );

  if (!valid || errorCode(sg.error) === "NOT_FOUND")
    return <NotFound what="Security group" id={params.id} back={back} />;

  if (sg.isError && !sg.data)
    return (
      <>
        <PageHeader title="Security group" back={back} />
        <Panel>
          <LoadFailed what="this security group" query={sg} />
        </Panel>
      </>
    );

  if (!sg.data)
    return (
      <>
        <PageHeader title={<Skeleton className="h-8 w-48" />} back={back} />
        <Panel className="p-6">
          <div className="flex flex-col gap-3">
            {[0, 1, 2, 3].map((i) => (
              <Skeleton key={i} className="h-8" />
            ))}
          </div>
        </Panel>
      </>
    );

  // Keyed by id: the form starts from this group's saved values once, and is not reset by polling.
  return <SgEditor key={sg.data.id} sg={sg.data} />;
}
