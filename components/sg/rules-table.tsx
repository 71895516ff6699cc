"use client";
// The rules of a group as an editable table: one row per rule, validated as you type; fields that
// do not apply to the row's protocol are disabled and cleared; lint findings sit under their rule.
import { type ReactNode, useId } from "react";
import { type FieldError, type UseFormReturn, useFieldArray, useWatch } from "react-hook-form";
import { Button } from "../ui/button";
import { cx } from "../ui/cx";
import { Input, Select } from "../ui/field";
import { Badge, EmptyState } from "../ui/misc";
import { RuleCounter, useRuleCounters } from "./rule-counter";
import { DIRECTIONS, emptyRule, hasIcmpType, hasPorts, PROTOCOLS, type SgForm } from "./rule-form";
import type { SgLint } from "./types";

const MAX_RULES = 500;

type Props = {
  form: UseFormReturn<SgForm>;
  sgId: number | null;
  vnets: { id: number; name: string }[] | undefined;
  lint: SgLint[];
  /** The stored rule the explain tool named, highlighted. */
  highlightRuleId: number | null;
  readOnly: boolean;
};

const LINT_TONE = { duplicate: "red", shadowed: "amber", wide: "amber", empty: "gray" } as const;

export function RulesTable({ form, sgId, vnets, lint, highlightRuleId, readOnly }: Props) {
  const { control, register, setValue, formState } = form;
  const rows = useFieldArray({ control, name: "rules" });
  const values = useWatch({ control, name: "rules" }) ?? [];
  const errors = formState.errors.rules;
  const counters = useRuleCounters(sgId);
  const clear = (i: number, field: "range" | "icmpType" | "ip" | "size" | "networkId") =>
    setValue(`rules.${i}.${field}`, "", { shouldDirty: true, shouldValidate: true });

  return (
    <>
      {rows.fields.length === 0 ? (
        <EmptyState title="No rules yet">
          A group with no rules allows nothing. A NIC drops every new connection that no rule of its groups
          allows (replies to allowed connections always pass). Add a rule to allow traffic.
        </EmptyState>
      ) : (
        <div className="overflow-x-auto">
          <table aria-label="Rules" className="w-full text-left text-sm">
            <thead>
              <tr className="border-b border-slate-200 bg-slate-50/80 text-xs font-semibold tracking-wide whitespace-nowrap text-slate-500 uppercase">
                <th scope="col" className="py-2.5 pr-1 pl-4">
                  #
                </th>
                <th scope="col" className="px-1 py-2.5">
                  Direction
                </th>
                <th scope="col" className="px-1 py-2.5">
                  Protocol
                </th>
                <th scope="col" className="px-1 py-2.5">
                  Remote IP
                </th>
                <th scope="col" className="px-1 py-2.5">
                  Size
                </th>
                <th scope="col" className="px-1 py-2.5">
                  Ports
                </th>
                <th scope="col" className="px-1 py-2.5">
                  ICMP type
                </th>
                <th scope="col" className="px-1 py-2.5">
                  Remote VNET
                </th>
                <th
                  scope="col"
                  className="px-1 py-2.5 text-right"
                  title="Packets / bytes each rule accepted (first packets of new connections), summed over nodes since the rule was created; refreshed every few seconds"
                >
                  Hits / bytes
                </th>
                <th scope="col" className="py-2.5 pr-4 pl-1">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.fields.map((f, i) => {
                const v = values[i] ?? f;
                const e = errors?.[i];
                const n = i + 1;
                const findings = v.ruleId !== undefined ? lint.filter((l) => l.ruleId === v.ruleId) : [];
                const lit = v.ruleId !== undefined && v.ruleId === highlightRuleId;
                const rowError = (e as { root?: FieldError } | undefined)?.root?.message;
                return (
                  <RuleRows
                    key={f.id}
                    highlighted={lit}
                    findings={findings.map((l) => (
                      <li key={`${l.kind}-${l.message}`} className="flex items-baseline gap-2">
                        <Badge tone={LINT_TONE[l.kind]}>{l.kind}</Badge>
                        <span>{l.message}</span>
                      </li>
                    ))}
                    rowError={rowError}
                    ruleLabel={`rule ${n}`}
                  >
                    <td className="py-2 pr-1 pl-4 align-top">
                      <span
                        className={cx(
                          "mt-1.5 inline-block min-w-5 font-mono text-xs tabular-nums",
                          lit ? "font-semibold text-sky-800" : "text-slate-500",
                        )}
                        data-testid="rule-number"
                      >
                        {n}
                      </span>
                    </td>
                    <Cell
                      label={`Direction of rule ${n}`}
                      error={e?.direction?.message}
                      minWidth="min-w-[8.5rem]"
                    >
                      {(c) => (
                        <Select {...c} disabled={readOnly} {...register(`rules.${i}.direction`)}>
                          {DIRECTIONS.map((d) => (
                            <option key={d} value={d}>
                              {d === "INBOUND" ? "Inbound" : "Outbound"}
                            </option>
                          ))}
                        </Select>
                      )}
                    </Cell>
                    <Cell
                      label={`Protocol of rule ${n}`}
                      error={e?.protocol?.message}
                      minWidth="min-w-[7rem]"
                    >
                      {(c) => (
                        <Select
                          {...c}
                          disabled={readOnly}
                          {...register(`rules.${i}.protocol`, {
                            onChange: (ev: { target: { value: string } }) => {
                              const p = ev.target.value;
                              if (!hasPorts(p) && v.range) clear(i, "range");
                              if (!hasIcmpType(p) && v.icmpType) clear(i, "icmpType");
                            },
                          })}
                        >
                          {PROTOCOLS.map((p) => (
                            <option key={p} value={p}>
                              {p}
                            </option>
                          ))}
                        </Select>
                      )}
                    </Cell>
                    <Cell label={`Remote IP of rule ${n}`} error={e?.ip?.message} minWidth="min-w-24">
                      {(c) => (
                        <Input
                          {...c}
                          placeholder={v.networkId ? "(VNET)" : "any"}
                          disabled={readOnly || !!v.networkId}
                          className={cx(c.className, "font-mono")}
                          {...register(`rules.${i}.ip`)}
                        />
                      )}
                    </Cell>
                    <Cell label={`Size of rule ${n}`} error={e?.size?.message} minWidth="min-w-14">
                      {(c) => (
                        <Input
                          {...c}
                          inputMode="numeric"
                          placeholder={v.ip ? "1" : "—"}
                          disabled={readOnly || !v.ip}
                          title="Number of consecutive addresses from the remote IP"
                          {...register(`rules.${i}.size`)}
                        />
                      )}
                    </Cell>
                    <Cell label={`Ports of rule ${n}`} error={e?.range?.message} minWidth="min-w-24">
                      {(c) => (
                        <Input
                          {...c}
                          placeholder={hasPorts(v.protocol) ? "all" : "—"}
                          disabled={readOnly || !hasPorts(v.protocol)}
                          title="e.g. 22,53,80:90 (TCP and UDP only)"
                          className={cx(c.className, "font-mono")}
                          {...register(`rules.${i}.range`)}
                        />
                      )}
                    </Cell>
                    <Cell label={`ICMP type of rule ${n}`} error={e?.icmpType?.message} minWidth="min-w-14">
                      {(c) => (
                        <Input
                          {...c}
                          inputMode="numeric"
                          placeholder={hasIcmpType(v.protocol) ? "any" : "—"}
                          disabled={readOnly || !hasIcmpType(v.protocol)}
                          {...register(`rules.${i}.icmpType`)}
                        />
                      )}
                    </Cell>
                    <Cell
                      label={`Remote VNET of rule ${n}`}
                      error={e?.networkId?.message}
                      minWidth="min-w-28"
                    >
                      {(c) => (
                        <Select
                          {...c}
                          disabled={readOnly || !!v.ip}
                          {...register(`rules.${i}.networkId`, {
                            onChange: (ev: { target: { value: string } }) => {
                              if (ev.target.value && v.size) clear(i, "size");
                            },
                          })}
                        >
                          <option value="">{v.ip ? "(IP)" : "any"}</option>
                          {vnets?.map((vn) => (
                            <option key={vn.id} value={String(vn.id)}>
                              {vn.name}
                            </option>
                          ))}
                          {/* A VNET the list does not hold (not shared with this user) keeps its id. */}
                          {v.networkId && vnets && !vnets.some((vn) => String(vn.id) === v.networkId) && (
                            <option value={v.networkId}>VNET {v.networkId}</option>
                          )}
                        </Select>
                      )}
                    </Cell>
                    <td className="px-1 py-2 text-right align-top whitespace-nowrap">
                      <RuleCounter
                        sgId={sgId}
                        ruleId={v.ruleId}
                        counter={v.ruleId !== undefined ? counters.get(v.ruleId) : undefined}
                        edited={Object.values(formState.dirtyFields.rules?.[i] ?? {}).some(Boolean)}
                      />
                    </td>
                    <td className="py-2 pr-4 pl-1 align-top whitespace-nowrap">
                      {!readOnly && (
                        <div className="flex gap-0.5">
                          <IconButton
                            label={`Move rule ${n} up`}
                            disabled={i === 0}
                            onClick={() => rows.move(i, i - 1)}
                          >
                            ↑
                          </IconButton>
                          <IconButton
                            label={`Move rule ${n} down`}
                            disabled={i === rows.fields.length - 1}
                            onClick={() => rows.move(i, i + 1)}
                          >
                            ↓
                          </IconButton>
                          <IconButton label={`Remove rule ${n}`} onClick={() => rows.remove(i)}>
                            ×
                          </IconButton>
                        </div>
                      )}
                    </td>
                  </RuleRows>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {!readOnly && (
        <div className="flex items-center justify-between gap-3 border-t border-slate-200 px-4 py-3">
          <Button
            size="sm"
            onClick={() => rows.append(emptyRule(), { focusName: `rules.${rows.fields.length}.direction` })}
            disabled={rows.fields.length >= MAX_RULES}
          >
            + Add rule
          </Button>
          <p className="text-right text-xs text-slate-500">
            A new connection passes when any rule of any group on the NIC allows it; replies always pass.
            <br />
            Hits / bytes: what each saved rule accepted on all nodes since it was created (live).
          </p>
        </div>
      )}
    </>
  );
}

/** A rule's row plus, under it, its lint findings and any error about the rule as a whole. */
function RuleRows({
  children,
  findings,
  rowError,
  highlighted,
  ruleLabel,
}: {
  children: ReactNode;
  findings: ReactNode[];
  rowError?: string;
  highlighted: boolean;
  ruleLabel: string;
}) {
  const extra = findings.length > 0 || rowError;
  const tone = highlighted ? "bg-sky-50 ring-2 ring-inset ring-sky-400" : "";
  return (
    <>
      <tr
        aria-label={ruleLabel}
        aria-current={highlighted ? "true" : undefined}
        className={cx(!extra && "border-b border-slate-100", tone)}
      >
        {children}
      </tr>
      {extra && (
        <tr className={cx("border-b border-slate-100", highlighted && "bg-sky-50")}>
          <td />
          <td colSpan={9} className="px-1 pb-2.5">
            {rowError && <p className="text-xs text-red-600">{rowError}</p>}
            {findings.length > 0 && (
              <ul aria-label={`Lint of ${ruleLabel}`} className="flex flex-col gap-1 text-xs text-slate-700">
                {findings}
              </ul>
            )}
          </td>
        </tr>
      )}
    </>
  );
}

/** One table cell holding a control labelled for screen readers, with its error under it. */
function Cell({
  label,
  error,
  minWidth,
  children,
}: {
  label: string;
  error?: string;
  /** The control's minimum width (the table squeezes cells down to their content otherwise). */
  minWidth?: string;
  children: (c: {
    "aria-label": string;
    "aria-invalid"?: boolean;
    "aria-describedby"?: string;
    className: string;
  }) => ReactNode;
}) {
  const id = useId();
  return (
    <td className="px-1 py-2 align-top">
      {children({
        "aria-label": label,
        "aria-invalid": error ? true : undefined,
        "aria-describedby": error ? `${id}-error` : undefined,
        className: cx("h-8 text-[13px]", minWidth),
      })}
      {error && (
        <p id={`${id}-error`} className="mt-1 max-w-48 text-xs leading-snug text-red-600">
          {error}
        </p>
      )}
    </td>
  );
}

function IconButton({
  label,
  children,
  ...rest
}: { label: string; children: ReactNode } & Omit<Parameters<typeof Button>[0], "children">) {
  return (
    <Button size="sm" variant="ghost" aria-label={label} title={label} className="w-7 px-0" {...rest}>
      {children}
    </Button>
  );
}
