// The nftables script a node loads for one NIC alone: its node's desired state narrowed to that
// port, rendered by the agent's own (pure) renderer. Shown in the security-group editor.
import { eq } from "drizzle-orm";
import { instances, nics } from "../../../db/schema";
import { renderNft } from "../../../lib/nft/render";
import type { App } from "../../app";
import { compileDesiredState } from "../nodes/desired";

/** The script for `nicId` (call only after the caller's permission on the NIC was checked). */
export function nicNftScript(app: App, nicId: number): string | null {
  const row = app.db
    .select({ nodeId: instances.nodeId })
    .from(nics)
    .innerJoin(instances, eq(instances.id, nics.instanceId))
    .where(eq(nics.id, nicId))
    .get();
  const desired = row && compileDesiredState(app.db, row.nodeId);
  const port = desired?.ports.find((p) => p.nicId === nicId);
  if (!desired || !port) return null;
  return renderNft({
    ...desired,
    ports: [port],
    networks: desired.networks.filter((n) => n.vnetId === port.vnetId),
  }).script;
}
