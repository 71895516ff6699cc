// The REST view of the API: each procedure that has a resource-style route carries
// `.meta(rest(...))` and an output schema here. trpc-to-openapi serves them under /api/v1 and
// generates /api/openapi.json from the same routers and zod schemas, so the two cannot drift.
// Output schemas are loose objects (z.looseObject): they name the fields scripts rely on; every
// other field of the answer is there too (additionalProperties), undocumented.
import type { OpenApiMeta } from "trpc-to-openapi";
import { z } from "zod";

type Method = "GET" | "POST" | "PATCH" | "PUT" | "DELETE";

/** Procedure meta: the REST route, and the schema its answer is documented with. */
export type Meta = OpenApiMeta & { restOutput?: z.ZodType };

/** The REST route of a procedure: method, path under /api/v1, tag (resource), summary, and the
 * documented answer. The answer's schema stays out of the tRPC chain (`.output()` would retype the
 * portal's answers and validate them); it is attached only when the document is generated. */
export function rest(
  method: Method,
  path: `/${string}`,
  tag: string,
  summary: string,
  output: z.ZodType,
): Meta {
  return { openapi: { method, path, tags: [tag], summary, protect: true }, restOutput: output };
}

const str = z.string();
const num = z.number();
const maybe = (t: z.ZodType) => t.nullish();
const loose = <S extends z.ZodRawShape>(shape: S) => z.looseObject(shape);

/** Answers scripts need nothing of but success (their shape varies by operation). */
export const anyOut = z.unknown();

export const rangeOut = loose({
  id: num,
  vnetId: num,
  type: str,
  ip: maybe(str),
  size: num,
  mac: maybe(str),
});
export const vnetListOut = z.array(
  loose({
    id: num,
    name: str,
    description: str,
    driver: str,
    networkType: str,
    size: num,
    used: num,
    held: num,
  }),
);
export const vnetOut = loose({
  id: num,
  name: str,
  description: str,
  driver: str,
  networkType: str,
  mtu: num,
});
export const vnetDetailOut = vnetOut.extend({ ranges: z.array(rangeOut) });
export const rangeAddOut = loose({ range: rangeOut });
export const rangeResizeOut = loose({ id: num, size: num });
export const heldOut = loose({ held: num });
export const releasedOut = loose({ released: num });
export const leaseOut = loose({
  ip: maybe(str),
  ip6: maybe(str),
  mac: maybe(str),
  state: str,
  reason: maybe(str),
  instance: maybe(str),
});
export const leaseListOut = loose({ total: num, rows: z.array(leaseOut) });
export const leaseHistoryOut = z.array(
  loose({
    action: str,
    ip: maybe(str),
    mac: maybe(str),
    instance: maybe(str),
    user: maybe(str),
    reason: maybe(str),
  }),
);
export const sgListOut = z.array(loose({ id: num, name: str, description: str, rules: num, vnets: num }));
export const sgRuleOut = loose({ id: num, protocol: str, direction: str, range: maybe(str) });
export const sgOut = loose({ id: num, name: str, rules: z.array(sgRuleOut) });
export const idOut = loose({ id: num });
export const changedOut = loose({ changed: z.boolean() });
export const templateListOut = z.array(loose({ id: num, name: str, description: str }));
export const templateOut = loose({ id: num, name: str, description: str });
const nicOut = loose({ nicId: num, vnetId: num, ip: maybe(str), mac: maybe(str) });
export const instanceListOut = z.array(loose({ id: num, name: str, nodeId: num, nics: z.array(nicOut) }));
export const instanceSeedOut = loose({
  instanceId: num,
  name: str,
  path: str,
  generation: num,
  documents: loose({ "meta-data": str, "user-data": str, "network-config": str }),
});
export const instanceOut = loose({ id: num, name: str, nodeId: num, nics: z.array(nicOut) });
export const nodeListOut = loose({
  items: z.array(
    loose({
      id: num,
      name: str,
      state: str,
      desiredRevision: num,
      appliedRevision: num,
      inSync: z.boolean(),
    }),
  ),
  total: num,
  offset: num,
  limit: num,
});
export const auditListOut = loose({
  rows: z.array(
    loose({
      id: num,
      actor: str,
      action: str,
      outcome: str,
      objectType: maybe(str),
      objectId: maybe(str),
      detail: maybe(str),
    }),
  ),
  nextBefore: maybe(num),
});
export const meOut = loose({ id: str, username: str, name: str, role: str });
