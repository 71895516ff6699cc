"use client";
// A security group's page: name, description and the rules (editable table, validated as you type
// with the server's schema, refusals placed at their row and field), Save / Delete, and — once the
// group exists — its VNETs, the live rollout to its NICs, and the explain tool.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useCallback, useEffect, useState } from "react";
import { useForm } from "react-hook-form";
import { toast } from "sonner";
import { can } from "@/lib/permissions";
import { showServerError } from "../form";
import { useMe } from "../session";
import { errorMessage, useTRPC } from "../trpc";
import { Button } from "../ui/button";
import { ConfirmDialog } from "../ui/dialog";
import { FormError, TextField } from "../ui/field";
import { Badge, PageHeader, Panel } from "../ui/misc";
import { DefaultSgWarning } from "./default-sg-warning";
import { emptyRule, type SgForm, sgFormResolver, toForm, toInput } from "./rule-form";
import { RulesTable } from "./rules-table";
import { SgExplain } from "./sg-explain";
import { SgNicsPanel } from "./sg-nics-panel";
import { SgPolicyPreview } from "./sg-policy-preview";
import { SgVnetsPanel } from "./sg-vnets-panel";
import { DEFAULT_SG_ID, type Sg } from "./types";

const FORM_ID = "sg-form";
const LEAVE = "This group has unsaved changes. Leave without saving them?";

/** The editor of an existing group (`sg`) or of a new one (`sg` null). */
export function SgEditor({ sg }: { sg: Sg | null }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const me = useMe();
  const vnets = useQuery(trpc.vnet.list.queryOptions());
  const canManage = !sg || can(me, sg, "manage");
  const [highlight, setHighlight] = useState<number | null>(null);
  const onDecided = useCallback((ruleId: number | null) => setHighlight(ruleId), []);
  const [confirmDelete, setConfirmDelete] = useState(false);

  const form = useForm<SgForm>({
    resolver: sgFormResolver,
    mode: "onChange",
    defaultValues: sg ? toForm(sg) : { name: "", description: "", rules: [] },
  });
  const { register, formState } = form;
  const dirty = formState.isDirty;

  // Leaving with unsaved edits asks first: closing or reloading the tab, and following any link of
  // the portal (caught before the router sees the click).
  useEffect(() => {
    if (!dirty) return;
    const warn = (e: BeforeUnloadEvent) => e.preventDefault();
    const onLink = (e: MouseEvent) => {
      const a = (e.target as Element | null)?.closest?.("a[href]");
      if (!a || a.getAttribute("target") === "_blank" || e.button !== 0) return;
      if (window.confirm(LEAVE)) return;
      e.preventDefault();
      e.stopPropagation();
    };
    window.addEventListener("beforeunload", warn);
    document.addEventListener("click", onLink, true);
    return () => {
      window.removeEventListener("beforeunload", warn);
      document.removeEventListener("click", onLink, true);
    };
  }, [dirty]);

  const create = useMutation(
    trpc.sg.create.mutationOptions({
      onSuccess: (created) => {
        toast.success(`Security group ${created.name} created`);
        form.reset(form.getValues());
        router.replace(`/security-groups/${created.id}`);
        return queryClient.invalidateQueries(trpc.sg.list.queryFilter());
      },
    }),
  );
  const update = useMutation(
    trpc.sg.update.mutationOptions({
      onSuccess: async (_r, input) => {
        // New rules got ids (kept ones keep theirs): reload so lint and counters follow the right rows.
        await queryClient.invalidateQueries(trpc.sg.pathFilter());
        const fresh = await queryClient.fetchQuery(trpc.sg.get.queryOptions({ id: input.id }));
        form.reset(toForm(fresh));
        setHighlight(null);
        toast.success(
          `Security group ${fresh.name} saved (${fresh.rules.length} rule${fresh.rules.length === 1 ? "" : "s"})` +
            (fresh.nics.length ? `; rolling out to ${fresh.nics.length} NIC(s)` : ""),
        );
      },
    }),
  );
  const remove = useMutation(
    trpc.sg.remove.mutationOptions({
      onSuccess: () => {
        toast.success(`Security group ${sg?.name} deleted`);
        setConfirmDelete(false);
        form.reset(form.getValues());
        router.push("/security-groups");
        queryClient.removeQueries(trpc.sg.get.queryFilter({ id: sg?.id ?? -1 }));
        return queryClient.invalidateQueries(trpc.sg.list.queryFilter());
      },
      onError: (err) => {
        setConfirmDelete(false);
        toast.error(errorMessage(err));
      },
    }),
  );
  const saving = create.isPending || update.isPending;

  const submit = form.handleSubmit((values) => {
    const input = toInput(values);
    const onError = (err: unknown) => showServerError(err, form);
    if (sg) update.mutate({ ...input, id: sg.id }, { onError });
    else create.mutate(input, { onError });
  });

  const rules = form.watch("rules") ?? [];
  const ruleCount = rules.length;
  // Without an OUTBOUND rule the drop policy eats every packet the guest starts (DNS, updates).
  const hasOutbound = rules.some((r) => r.direction === "OUTBOUND");
  const lint = sg ? lintByPosition(sg) : [];

  return (
    <>
      <PageHeader
        back={
          <Link href="/security-groups" className="text-sky-800 hover:underline">
            ← All security groups
          </Link>
        }
        title={sg ? sg.name : "New security group"}
        description={
          sg
            ? sg.description || "Rules allowing traffic to and from the NICs of the attached VNETs."
            : "Name the group and list the traffic it allows; attach it to VNETs once saved."
        }
        actions={
          canManage && (
            <>
              {dirty && <Badge tone="amber">Unsaved changes</Badge>}
              {sg && sg.id !== DEFAULT_SG_ID && (
                <Button variant="danger" onClick={() => setConfirmDelete(true)} disabled={saving}>
                  Delete
                </Button>
              )}
              <Button type="submit" form={FORM_ID} variant="primary" pending={saving}>
                {sg ? "Save" : "Create group"}
              </Button>
            </>
          )
        }
      />
      <div className="flex flex-col gap-6">
        {/* Said first and plainly: while the default group sits on a VNET, this group changes nothing there. */}
        {sg?.vnets
          .filter((v) => v.defaultAttached)
          .map((v) => (
            <DefaultSgWarning
              key={v.id}
              vnetId={v.id}
              vnetName={v.name}
              canManage={v.canManage}
              egressLost={v.egressLostOnDetach}
            />
          ))}
        <form id={FORM_ID} noValidate onSubmit={submit} aria-label="Security group" className="contents">
          <Panel title="Group">
            <div className="grid grid-cols-3 gap-4 p-4">
              <TextField
                label="Name"
                autoFocus={!sg}
                placeholder="web-servers"
                disabled={!canManage}
                error={formState.errors.name?.message}
                {...register("name")}
              />
              <TextField
                label="Description"
                placeholder="Optional"
                disabled={!canManage}
                fieldClassName="col-span-2"
                error={formState.errors.description?.message}
                {...register("description")}
              />
            </div>
            {!canManage && (
              <p className="px-4 pb-4 text-sm text-slate-600">
                You may use this group but not change it; ask its owner or an admin.
              </p>
            )}
          </Panel>
          {canManage && sg?.id !== DEFAULT_SG_ID && !hasOutbound && (
            <div
              role="status"
              data-testid="no-outbound"
              className="flex flex-wrap items-center justify-between gap-3 rounded-md bg-amber-50 px-3 py-2.5 text-sm text-amber-900 ring-1 ring-amber-300"
            >
              <p className="min-w-0 flex-1">
                {sg?.egress && !dirty
                  ? sg.egress.message
                  : "No outbound rule: NICs filtered only by this group can send nothing (no DNS, no updates)"}
                . Most groups start with one, as the default group of other clouds does.
              </p>
              <Button
                size="sm"
                onClick={() =>
                  form.setValue(
                    "rules",
                    [...rules, { ...emptyRule(), protocol: "ALL", direction: "OUTBOUND" }],
                    {
                      shouldDirty: true,
                      shouldValidate: true,
                    },
                  )
                }
              >
                Add “allow all outbound” rule
              </Button>
            </div>
          )}
          <Panel
            title={`Rules (${ruleCount})`}
            actions={
              lint.length > 0 && (
                <span className="text-xs text-amber-800" data-testid="lint-summary">
                  {lint.length} lint finding{lint.length === 1 ? "" : "s"} in the saved rules
                </span>
              )
            }
          >
            <RulesTable
              form={form}
              sgId={sg?.id ?? null}
              vnets={vnets.data}
              lint={lint}
              highlightRuleId={highlight}
              readOnly={!canManage}
            />
            <div className="px-4">
              <FormError
                message={formState.errors.root?.server?.message ?? formState.errors.rules?.message}
              />
            </div>
          </Panel>
        </form>
        {sg && (
          <div className="grid grid-cols-1 gap-6 lg:grid-cols-5">
            <SgVnetsPanel sg={sg} className="lg:col-span-2" />
            <SgNicsPanel sg={sg} canManage={canManage} className="lg:col-span-3" />
          </div>
        )}
        {sg && <SgExplain sg={sg} onDecided={onDecided} />}
        {sg && <SgPolicyPreview sg={sg} />}
      </div>
      {sg && (
        <ConfirmDialog
          open={confirmDelete}
          onClose={() => setConfirmDelete(false)}
          title={`Delete security group ${sg.name}?`}
          confirmLabel="Delete group"
          pending={remove.isPending}
          onConfirm={() => remove.mutate({ id: sg.id })}
        >
          The group <strong>{sg.name}</strong>
          {sg.rules.length ? ` and its ${sg.rules.length} rule${sg.rules.length === 1 ? "" : "s"}` : ""} will
          be deleted. A group still attached to a VNET or a NIC cannot be deleted: detach it first. This
          cannot be undone.
        </ConfirmDialog>
      )}
    </>
  );
}

/** Lint messages name rules by their stored id ("#42"); users see row numbers, so say those. */
function lintByPosition(sg: Sg) {
  const position = new Map(sg.rules.map((r, i) => [r.id, i + 1]));
  return sg.lint.map((l) => ({
    ...l,
    message: l.message.replace(/#(\d+)/g, (m, id: string) => String(position.get(Number(id)) ?? m)),
  }));
}
