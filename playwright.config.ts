// Playwright against the production build (`next build` must have run; `npm test` builds first),
// on Debian's Chromium (`npx playwright install` cannot download browsers on this machine).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { defineConfig } from "@playwright/test";
import { E2E_ADMIN_PASSWORD, E2E_PORT } from "./e2e/env";

// A fresh database per run (the first start creates user "admin" with the password above).
// Playwright loads this file in every worker too; only the runner starts the web server, so a
// per-process directory is fine. Reuse the runner's directory if a parent already chose one.
process.env.BH_E2E_DIR ??= fs.mkdtempSync(path.join(os.tmpdir(), `bh-e2e-${Date.now()}-`));
const dbFile = path.join(process.env.BH_E2E_DIR, "db.sqlite");
// The e2e portal serves plain http on localhost; agents the specs start may talk to it.
process.env.BRIDGEHEAD_AGENT_INSECURE ??= "1";

export default defineConfig({
  testDir: "e2e",
  workers: 1,
  retries: 0,
  fullyParallel: false,
  reporter: "list",
  timeout: 60_000,
  expect: { timeout: 10_000 },
  use: {
    // localhost, not 127.0.0.1: the server trusts only the Origin it derives from request.url,
    // which `next start` reports as localhost (sign-out from 127.0.0.1 gets INVALID_ORIGIN).
    baseURL: `http://localhost:${E2E_PORT}`,
    viewport: { width: 1280, height: 800 },
    screenshot: "only-on-failure",
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
      ],
    },
  },
  // portal.spec.ts asserts the empty states of a fresh database, so it runs first; every other spec
  // (one server, one database) runs after it and must not assume an empty database.
  projects: [
    { name: "portal", testMatch: /portal\.spec\.ts$/ },
    { name: "features", testIgnore: /portal\.spec\.ts$/, dependencies: ["portal"] },
  ],
  webServer: {
    command: `npx next start -p ${E2E_PORT}`,
    url: `http://localhost:${E2E_PORT}/login`,
    reuseExistingServer: false,
    timeout: 120_000,
    stdout: "pipe",
    stderr: "pipe",
    env: {
      BRIDGEHEAD_DB: dbFile,
      BRIDGEHEAD_ADMIN_PASSWORD: E2E_ADMIN_PASSWORD,
      // The request log lines would bury the test report; failures still log at warn and above.
      BRIDGEHEAD_LOG_LEVEL: "warn",
    },
  },
});
