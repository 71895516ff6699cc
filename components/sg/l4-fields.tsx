"use client";
// The protocol, port and ICMP-type fields both explain forms ask for (one NIC, and A→B): the port
// only for TCP/UDP, the ICMP type only for ICMP; toL4 turns the typed strings into the API's fields.
import type { FieldErrors, UseFormRegister } from "react-hook-form";
import { Field, Input, Select } from "../ui/field";

export type L4Protocol = "tcp" | "udp" | "icmp" | "icmpv6" | "esp" | "ah";
/** The form fields these inputs register (as typed: strings until sent). */
export type L4Form = { protocol: L4Protocol; port: string; icmpType: string };

const PROTOCOLS: [L4Protocol, string][] = [
  ["tcp", "TCP"],
  ["udp", "UDP"],
  ["icmp", "ICMP"],
  ["icmpv6", "ICMPv6"],
  ["esp", "ESP (IPsec)"],
  ["ah", "AH (IPsec)"],
];
const ported = (p: string) => p === "tcp" || p === "udp";
const icmp = (p: string) => p === "icmp" || p === "icmpv6";

/** The protocol with only the fields it takes; numbers stay strings for the zod schema to coerce. */
export function toL4(f: L4Form) {
  const num = (s: string) => (s.trim() === "" ? undefined : (s.trim() as unknown as number));
  return {
    protocol: f.protocol,
    port: ported(f.protocol) ? num(f.port) : undefined,
    icmpType: icmp(f.protocol) ? num(f.icmpType) : undefined,
  };
}

export function L4Fields({
  register,
  errors,
  protocol,
}: {
  register: UseFormRegister<L4Form>;
  errors: FieldErrors<L4Form>;
  protocol: string;
}) {
  return (
    <>
      <Field label="Protocol" error={errors.protocol?.message} className="col-span-2">
        {(c) => (
          <Select {...c} {...register("protocol")}>
            {PROTOCOLS.map(([v, label]) => (
              <option key={v} value={v}>
                {label}
              </option>
            ))}
          </Select>
        )}
      </Field>
      <Field label="Port" error={errors.port?.message} className="col-span-2">
        {(c) => (
          <Input
            {...c}
            inputMode="numeric"
            placeholder={ported(protocol) ? "22" : "—"}
            disabled={!ported(protocol)}
            {...register("port")}
          />
        )}
      </Field>
      <Field label="ICMP type" error={errors.icmpType?.message} className="col-span-2">
        {(c) => (
          <Input
            {...c}
            inputMode="numeric"
            placeholder={icmp(protocol) ? "8" : "—"}
            disabled={!icmp(protocol)}
            {...register("icmpType")}
          />
        )}
      </Field>
    </>
  );
}
