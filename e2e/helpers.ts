// Small steps the portal specs share.
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, type Page } from "@playwright/test";
import { deleteNamespaces } from "../tests/kernel";
import { E2E_ADMIN_PASSWORD, E2E_PORT } from "./env";

export const ADMIN = { username: "admin", password: E2E_ADMIN_PASSWORD };

/** Where the first test leaves the admin's signed-in session for the others. */
export const ADMIN_STATE = "test-results/.auth/admin.json";

/** Signs in through the login form (Enter submits) and waits for the landing page: the VNETs
 * for admins, the self-service page for end users. */
export async function signIn(page: Page, user = ADMIN) {
  await page.goto("/login");
  await page.getByLabel("User name").fill(user.username);
  await page.getByLabel("Password").fill(user.password);
  await page.getByLabel("Password").press("Enter");
  await expect(page).toHaveURL(/\/(vnets|self-service)$/);
  await expect(page.getByRole("heading", { name: /^(Virtual networks|Self-service)$/ })).toBeVisible();
}

/** A full-page screenshot into test-results/screens/<name>.png, taken once the page is idle. */
export async function shot(page: Page, name: string) {
  await page.waitForLoadState("networkidle").catch(() => {});
  await page.screenshot({ path: `test-results/screens/${name}.png`, fullPage: true });
}

/** A real node agent for a namespace standing in for a node (as an admin would start it with the
 * join token the UI shows); its output is kept for failure messages, `stop` ends it and removes its
 * namespaces and state. */
export class E2eAgent {
  private child: ChildProcess | undefined;
  private out = "";
  private readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "bh-e2e-agent-"));

  constructor(readonly netns: string) {}

  /** Everything the agent printed so far. */
  get log(): string {
    return this.out;
  }

  start(token: string): void {
    this.child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "agent/main.ts",
        "--server",
        `http://localhost:${E2E_PORT}`,
        "--token",
        token,
        "--netns",
        this.netns,
        "--state",
        path.join(this.dir, "agent.json"),
        "--interval",
        "2",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    const keep = (c: Buffer) => {
      this.out += c;
    };
    this.child.stdout?.on("data", keep);
    this.child.stderr?.on("data", keep);
  }

  async stop(removeNamespaces: boolean): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    }
    if (removeNamespaces) deleteNamespaces(this.netns);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
