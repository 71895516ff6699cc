// The agent's local state file: its node credential (mode 600) and the last desired state it
// received, so that after a restart it restores the dataplane even while the server is away.
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import { certFingerprint, desiredStateSchema } from "../lib/wire";

const stateSchema = z.object({
  server: z.string(),
  nodeId: z.number().int(),
  nodeName: z.string(),
  credential: z.string(),
  /** sha256 of the join token this credential came from: re-running the same command reuses it. */
  joinTokenHash: z.string().optional(),
  /** The server certificate fingerprints this node accepts (from the join token, then re-pinned
   * by the server over the channel). Absent: a plain-HTTP (--insecure) node. */
  pins: z.array(certFingerprint).optional(),
  lastDesired: desiredStateSchema.optional(),
});
export type AgentState = z.infer<typeof stateSchema>;

/** Reads the state file; null when missing. A corrupt file is an error naming the file. */
export function loadState(file: string): AgentState | null {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    return null;
  }
  const parsed = stateSchema.safeParse(JSON.parse(text));
  if (!parsed.success)
    throw new Error(`Agent state file ${file} is invalid; delete it and enroll again with a new join token`);
  return parsed.data;
}

/** Writes the state file atomically (temp file + rename), readable by root only. */
export function saveState(file: string, state: AgentState) {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(state), { mode: 0o600 });
  fs.renameSync(tmp, file);
}
