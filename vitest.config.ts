import path from "node:path";
import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: { alias: { "@": path.resolve(import.meta.dirname) } },
  test: {
    include: ["**/*.test.ts"],
    exclude: ["**/node_modules/**", "e2e/**", ".next/**", "data/**"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Dataplane tests share one kernel; files run in parallel, each with its own namespace prefix.
    pool: "forks",
    // Tests serve the agent channel over plain HTTP on loopback (server/http.ts); agents they start
    // need the explicit permission, which they inherit from here (the TLS tests unset it).
    env: { BRIDGEHEAD_AGENT_INSECURE: "1" },
  },
});
