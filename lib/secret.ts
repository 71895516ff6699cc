// The one hash of a bearer secret (node credential, join token): the server stores it, the agent
// compares with it, so both must compute it the same way.
import { createHash } from "node:crypto";

/** sha256 hex: credentials and join tokens are 256-bit random secrets, so a fast hash is enough. */
export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}
