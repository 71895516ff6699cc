// The wire versions this portal speaks (the current one and the one before), so a fleet is upgraded
// node by node: an older agent gets its state in the shape it knows; an agent outside the range is
// refused with a retryable error and the reason lands on the Nodes page (it does not stop quietly).
import { type DesiredState, MIN_WIRE_VERSION, WIRE_VERSION, type WireVersion } from "../../../lib/wire";
import type { App } from "../../app";
import { audit } from "../../audit";

/** The wire version an agent speaks: what it says, or the oldest (the first agents did not say). */
export const agentWire = (said: number | undefined) => said ?? MIN_WIRE_VERSION;

/** Why this portal cannot talk to an agent of wire version `v`, or null when it can. */
export function wireMismatch(v: number): string | null {
  if (v > WIRE_VERSION)
    return `The agent speaks wire version ${v}, newer than this portal (${MIN_WIRE_VERSION}–${WIRE_VERSION}): upgrade the portal first, then the agents`;
  if (v < MIN_WIRE_VERSION)
    return `The agent speaks wire version ${v}, older than this portal accepts (${MIN_WIRE_VERSION}–${WIRE_VERSION}): install the agent of this release on the node`;
  return null;
}

/** Remembers the mismatch for the Nodes page (and audits it once per reason), or forgets an
 * earlier one when the agent now fits; returns the message. Writes nothing to the node's row: a
 * refused call leaves the database as it was. */
export function refuseWire(app: App, node: { id: number; name: string }, v: number): string | null {
  const why = wireMismatch(v);
  const known = app.agents.wireRefusals.get(node.id);
  if (!why) {
    if (known) {
      app.agents.wireRefusals.delete(node.id);
      app.bus.emit("nodes:changed");
    }
    return null;
  }
  if (known?.message !== why)
    audit(
      app.db,
      { userId: null, name: `node:${node.name}`, ip: null },
      {
        action: "agent.wire",
        objectType: "node",
        objectId: node.id,
        objectName: node.name,
        outcome: "refused",
        detail: why,
      },
    );
  app.agents.wireRefusals.set(node.id, { message: why, at: new Date() });
  app.bus.emit("nodes:changed");
  return why;
}

/** The first wire version whose desired state carries the server certificate pins. */
const PINS_SINCE = 2;
/** The first wire version whose networks carry their DHCP and DNS service. */
const DHCP_SINCE = 3;
/** The first wire version whose DHCP service names the network's guests on other nodes. */
const NAMES_SINCE = 4;
/** The first wire version with IPv6 on the node: the bridges' IPv6 addresses, router
 * advertisements and DHCPv6 (`bridgeAddresses6`, `dhcp.ipv6`, the ports' `static6`). */
export const IPV6_DHCP_SINCE = 5;

/** A network without what wire 5 added (an older agent leaves IPv6 to the guests, as before). */
function withoutIpv6(n: DesiredState["networks"][number]): DesiredState["networks"][number] {
  if (!n.bridgeAddresses6 && !n.dhcp?.ipv6) return n;
  const { bridgeAddresses6: _, ...rest } = n;
  if (!rest.dhcp?.ipv6) return rest;
  const { ipv6: __, ...dhcp } = rest.dhcp;
  return { ...rest, dhcp };
}

/** The networks as wire `v` knows them: no IPv6 service before IPV6_DHCP_SINCE, no DHCP before
 * DHCP_SINCE, no remote names before NAMES_SINCE (an agent of wire 3 resolves its own node's guests
 * only). */
function networksForWire(networks: DesiredState["networks"], v: number): DesiredState["networks"] {
  if (v < IPV6_DHCP_SINCE) networks = networks.map(withoutIpv6);
  if (v < DHCP_SINCE && networks.some((n) => n.dhcp)) return networks.map(({ dhcp: _, ...n }) => n);
  if (v < NAMES_SINCE && networks.some((n) => n.dhcp?.names))
    return networks.map((n) => {
      if (!n.dhcp?.names) return n;
      const { names: _, ...dhcp } = n.dhcp;
      return { ...n, dhcp };
    });
  return networks;
}

/** The desired state in the shape an agent of wire version `v` parses: each version's strict schema
 * refuses keys it does not know, so what came later is left out (pins before PINS_SINCE, the
 * networks' DHCP before DHCP_SINCE: such a node serves no DHCP until its agent is upgraded, and the
 * Nodes page shows it as speaking an older wire). */
export function stateForWire(state: DesiredState, v: number, pins: string[] | undefined): DesiredState {
  const wireVersion = v as WireVersion;
  const networks = networksForWire(state.networks, v);
  const ports =
    v < IPV6_DHCP_SINCE && state.ports.some((p) => p.static6)
      ? state.ports.map(({ static6: _, ...p }) => p)
      : state.ports;
  if (v < PINS_SINCE) {
    const { serverPins: _, ...rest } = state;
    return { ...rest, networks, ports, wireVersion };
  }
  return { ...state, networks, ports, wireVersion, ...(pins ? { serverPins: pins } : {}) };
}
