// NETWORK_ID rules stand for a VNET's leases, resolved when a node's desired state is compiled. So
// a change to that VNET's leases (an instance created or deleted, a hold placed or released, a VNET
// removed with its holds) changes the desired state of every node with a NIC under such a rule,
// though none of their own objects changed. This is the lease-change hook the App registers for
// security groups: mutate() bumps these nodes in the same transaction, and the groups are stamped
// (their NICs are outdated until applied).
import { inArray } from "drizzle-orm";
import type { Tx } from "../../../db";
import { sgRules } from "../../../db/schema";
import { nodesUsingGroups, stampGroups } from "./sg-policy";

/** The nodes whose NETWORK_ID rules follow `vnetIds`; stamps those rules' groups with the revision
 * the change commits at. */
export function sgFollowersOfLeases(tx: Tx, vnetIds: number[]): number[] {
  const sgIds = [
    ...new Set(
      tx
        .selectDistinct({ sgId: sgRules.sgId })
        .from(sgRules)
        .where(inArray(sgRules.networkId, vnetIds))
        .all()
        .map((r) => r.sgId),
    ),
  ];
  const nodeIds = nodesUsingGroups(tx, sgIds);
  // mutate() bumps the global revision by one right after: that is the revision this lands at.
  if (nodeIds.length > 0) stampGroups(tx, sgIds, true);
  return nodeIds;
}
