// Guest names in a VNET's DNS, shared by the portal (what the DHCP & DNS tab shows) and the agent
// (what its dnsmasq answers), so the name a user reads is the name a guest resolves. Pure.

/** A DNS label from any name: lower case, [a-z0-9-], at most 63 characters; "" → `fallback`. */
export function dnsLabel(name: string, fallback = "host"): string {
  const l = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 63)
    .replace(/-+$/, "");
  return l || fallback;
}

/** The domain a VNET's guests are named under when it sets none: <vnet name>.internal. */
export const defaultDnsDomain = (vnetName: string) => `${dnsLabel(vnetName, "vnet")}.internal`;

/** The name an instance resolves as in a VNET's domain. */
export const guestFqdn = (instanceName: string, domain: string) => `${dnsLabel(instanceName)}.${domain}`;

/** dnsmasq's lease time when the VNET sets none (seconds). */
export const DEFAULT_LEASE_SECONDS = 3600;

/** Whether the nodes serve DHCP/DNS on a VNET: as set, else internal networks only (an external
 * network's LAN may run its own server). */
export const dhcpOn = (v: { dhcpEnabled: boolean | null; networkType: string }) =>
  v.dhcpEnabled ?? v.networkType === "internal";
