// Input schemas of VNET peerings, shared by the dialog and the router.
import { z } from "zod";

const id = z.coerce.number().int().positive();

export const peeringCreateInput = z.object({ vnetA: id, vnetB: id }).refine((v) => v.vnetA !== v.vnetB, {
  path: ["vnetB"],
  message: "A VNET cannot be peered with itself; choose another VNET",
});
export const peeringListInput = z.object({ vnetId: id.optional() }).optional();
export const peeringIdInput = z.object({ id });
