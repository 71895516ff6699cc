"use client";
// The editor's form model: every field a string (what inputs hold), mapped to the server's own
// schema (lib/sg.ts sgInput) before each validation, so the editor and the server agree on every
// message and on the field path it belongs to (rules.3.range).
import { zodResolver } from "@hookform/resolvers/zod";
import type { Resolver } from "react-hook-form";
import { SG_DIRECTIONS, SG_PROTOCOLS } from "@/lib/domain";
import { type SgInputForm, type SgProtocol, sgInput } from "@/lib/sg";
import type { Sg } from "./types";

export type RuleRow = {
  /** The stored rule this row was loaded from (lint findings and counters follow it); not sent. */
  ruleId?: number;
  protocol: SgProtocol;
  direction: (typeof SG_DIRECTIONS)[number];
  ip: string;
  size: string;
  range: string;
  icmpType: string;
  networkId: string;
};

export type SgForm = { name: string; description: string; rules: RuleRow[] };

export const PROTOCOLS = SG_PROTOCOLS;
export const DIRECTIONS = SG_DIRECTIONS;

/** Ports apply to TCP and UDP only. */
export const hasPorts = (p: string) => p === "TCP" || p === "UDP";
/** An ICMP type applies to ICMP and ICMPv6 only. */
export const hasIcmpType = (p: string) => p === "ICMP" || p === "ICMPv6";

export const emptyRule = (): RuleRow => ({
  protocol: "TCP",
  direction: "INBOUND",
  ip: "",
  size: "",
  range: "",
  icmpType: "",
  networkId: "",
});

const opt = (s: string | undefined) => {
  const t = (s ?? "").trim();
  return t === "" ? undefined : t;
};

/** The form's values as the API takes them: empty fields absent, ids of stored rules dropped. */
export function toInput(f: SgForm): SgInputForm {
  return {
    name: f.name,
    description: f.description,
    rules: (f.rules ?? []).map((r) => ({
      protocol: r.protocol,
      direction: r.direction,
      ip: opt(r.ip),
      size: opt(r.size),
      range: opt(r.range),
      icmpType: opt(r.icmpType),
      networkId: opt(r.networkId),
    })),
  };
}

const str = (v: number | string | null | undefined) => (v === null || v === undefined ? "" : String(v));

/** A stored group as form values. */
export function toForm(sg: Pick<Sg, "name" | "description" | "rules">): SgForm {
  return {
    name: sg.name,
    description: sg.description,
    rules: sg.rules.map((r) => ({
      ruleId: r.id,
      protocol: r.protocol,
      direction: r.direction,
      ip: str(r.ip),
      size: r.ip && r.size !== 1 ? str(r.size) : "",
      range: str(r.range),
      icmpType: str(r.icmpType),
      networkId: str(r.networkId),
    })),
  };
}

const sgResolver = zodResolver(sgInput, undefined, { raw: true });

/** Validates the form with the server's schema (field paths are the same in both shapes). */
export const sgFormResolver: Resolver<SgForm> = async (values, context, options) => {
  const result = await sgResolver(toInput(values), context, options as never);
  return Object.keys(result.errors).length
    ? { values: {}, errors: result.errors as never }
    : { values, errors: {} };
};
