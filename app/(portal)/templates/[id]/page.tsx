"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useParams, useRouter } from "next/navigation";
import { useState } from "react";
import { toast } from "sonner";
import { AdminOnly } from "@/components/session";
import { PermissionsPanel } from "@/components/tenancy/permissions-panel";
import { TemplateFormDialog } from "@/components/tenancy/template-form";
import { TemplateInfo } from "@/components/tenancy/template-info";
import { errorCode, errorMessage, useTRPC } from "@/components/trpc";
import { Button } from "@/components/ui/button";
import { ConfirmDialog } from "@/components/ui/dialog";
import { LoadFailed, NotFound, PageHeader, Panel, Skeleton } from "@/components/ui/misc";

export default function TemplatePage() {
  return (
    <AdminOnly>
      <TemplateDetail />
    </AdminOnly>
  );
}

function TemplateDetail() {
  const params = useParams<{ id: string }>();
  const id = Number(params.id);
  const valid = Number.isInteger(id) && id >= 0;
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const t = useQuery({ ...trpc.template.get.queryOptions({ id }), enabled: valid });
  const [editing, setEditing] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const remove = useMutation(
    trpc.template.remove.mutationOptions({
      onSuccess: (r) => {
        toast.success(`Template ${r.name} deleted`);
        setDeleting(false);
        router.push("/templates");
        queryClient.removeQueries(trpc.template.get.queryFilter({ id }));
        return queryClient.invalidateQueries(trpc.template.list.queryFilter());
      },
      onError: (err) => {
        setDeleting(false);
        toast.error(errorMessage(err));
      },
    }),
  );
  const back = (
    <Link href="/templates" className="text-sky-800 hover:underline">
      ← All templates
    </Link>
  );
  if (!valid || errorCode(t.error) === "NOT_FOUND")
    return <NotFound what="Template" id={params.id} back={back} />;
  if (t.isError)
    return (
      <>
        <PageHeader title="Template" back={back} />
        <Panel>
          <LoadFailed what="this template" query={t} />
        </Panel>
      </>
    );
  const v = t.data;
  return (
    <>
      <PageHeader
        back={back}
        title={v ? v.name : <Skeleton className="h-8 w-48" />}
        description={v?.description || undefined}
        actions={
          v && (
            <>
              <Button disabled={!v.my.manage} onClick={() => setEditing(true)}>
                Edit
              </Button>
              <Button variant="danger" disabled={!v.my.manage} onClick={() => setDeleting(true)}>
                Delete
              </Button>
            </>
          )
        }
      />
      {v ? (
        <div className="flex flex-col gap-6">
          <TemplateInfo attrs={v.attrs} vnetCount={v.vnetCount} />
          <PermissionsPanel kind="template" id={v.id} />
        </div>
      ) : (
        <Panel className="p-6">
          <Skeleton className="h-40" />
        </Panel>
      )}
      {v && <TemplateFormDialog open={editing} template={v} onClose={() => setEditing(false)} />}
      {v && (
        <ConfirmDialog
          open={deleting}
          onClose={() => setDeleting(false)}
          title={`Delete template ${v.name}?`}
          confirmLabel="Delete template"
          pending={remove.isPending}
          onConfirm={() => remove.mutate({ id })}
        >
          Users can no longer create networks from <strong>{v.name}</strong>. The {v.vnetCount} network
          {v.vnetCount === 1 ? "" : "s"} already made from it stay.
        </ConfirmDialog>
      )}
    </>
  );
}
