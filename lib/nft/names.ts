// Kernel names derived from ids that both the nftables renderer (its sets are keyed by host veth
// name) and the agent's link planner use, so the server's preview renders exactly what a node loads.

/** Host-side veth of a NIC, in the node namespace. */
export const hostVethName = (nicId: number) => `bhv${nicId}`;
