// Restricted attributes, pure: the VNET and template attributes that decide what a node's kernel
// does with its physical NICs (which driver, which device, which VLAN/VNI, which bridge, the
// underlay MTU). Only cloud admins (role admin, not an ADMIN bit on the object) may set or change
// them, like OpenNebula's VNET_RESTRICTED_ATTR. Server procedures and UI forms both read this list.

/** VNET attributes only cloud admins may set or change, with the words users know. */
export const RESTRICTED_VNET_ATTRS = {
  driver: "driver",
  networkType: "network type",
  phydev: "physical device",
  vlanId: "VLAN ID",
  vni: "VNI",
  // Carried on the wire to the agent; no procedure stores it yet, so none can accept it unchecked.
  vxlanGroup: "VXLAN multicast group",
  bridge: "bridge name",
  mtu: "underlay MTU",
} as const;
export type RestrictedVnetAttr = keyof typeof RESTRICTED_VNET_ATTRS;

/** Template attributes only cloud admins may set or change (the pools VNETs get their IDs from). */
export const RESTRICTED_TEMPLATE_ATTRS = {
  driver: "driver",
  networkType: "network type",
  phydev: "physical device",
  vlanPool: "VLAN ID pool",
  vniPool: "VNI pool",
  mtu: "underlay MTU",
  bridge: "bridge name",
  vxlanGroup: "VXLAN multicast group",
} as const;
export type RestrictedTemplateAttr = keyof typeof RESTRICTED_TEMPLATE_ATTRS;

export const isRestrictedVnetAttr = (k: string): k is RestrictedVnetAttr => k in RESTRICTED_VNET_ATTRS;

/** The refusal a non-admin gets, naming the attribute and its API field. */
export function restrictedMessage(
  object: "VNET" | "template",
  name: string,
  attr: RestrictedVnetAttr | RestrictedTemplateAttr,
  verb: "change" | "set" = "change",
) {
  const label =
    object === "VNET"
      ? RESTRICTED_VNET_ATTRS[attr as RestrictedVnetAttr]
      : RESTRICTED_TEMPLATE_ATTRS[attr as RestrictedTemplateAttr];
  return `Only cloud admins may ${verb} the ${label} (${attr}) of ${object} ${name}`;
}

/** Keys of `attrs` in `keys` whose value differs from `current` (JSON equality; undefined and
 * null both mean "not set"). */
export function changedKeys<K extends string>(
  keys: readonly K[],
  current: Partial<Record<K, unknown>>,
  next: Partial<Record<K, unknown>>,
): K[] {
  const norm = (v: unknown) => JSON.stringify(v ?? null);
  return keys.filter((k) => norm(current[k]) !== norm(next[k]));
}

/** The note the UI shows beside a restricted field a non-admin sees read-only. */
export const RESTRICTED_NOTE = "set by a cloud admin";

/** `o` without its restricted VNET attributes (what a non-admin's form sends). */
export function withoutRestrictedVnetAttrs<T extends object>(o: T): Omit<T, RestrictedVnetAttr> {
  return Object.fromEntries(Object.entries(o).filter(([k]) => !isRestrictedVnetAttr(k))) as Omit<
    T,
    RestrictedVnetAttr
  >;
}
