// Small steps the portal specs share.
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, type Locator, type Page } from "@playwright/test";
import { deleteNamespaces } from "../tests/kernel";
import { E2E_ADMIN_PASSWORD, E2E_PORT } from "./env";

export const ADMIN = { username: "admin", password: E2E_ADMIN_PASSWORD };

/** Where the first test leaves the admin's signed-in session for the others. */
export const ADMIN_STATE = "test-results/.auth/admin.json";

/** Signs in through the login form (Enter submits) and waits for the landing page: the Overview
 * (the cloud for admins, their own networks for end users). */
export async function signIn(page: Page, user = ADMIN) {
  await page.goto("/login");
  await page.getByLabel("User name").fill(user.username);
  await page.getByLabel("Password").fill(user.password);
  await page.getByLabel("Password").press("Enter");
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole("heading", { name: "Overview", exact: true })).toBeVisible();
}

/** Opens the account menu in the header and picks one of its items. */
export async function accountMenu(page: Page, item: "Change password" | "Profile & API tokens" | "Sign out") {
  await page.getByRole("button", { name: /^Account: / }).click();
  await page.getByRole("menu", { name: "Account" }).getByRole("menuitem", { name: item }).click();
}

/** Signs out through the account menu and waits for the login page. */
export async function signOut(page: Page) {
  await accountMenu(page, "Sign out");
  await expect(page).toHaveURL(/\/login$/);
}

export const dialog = (page: Page, name: string | RegExp) => page.getByRole("dialog", { name });

/** Picks the <option> whose text contains `text` (labels carry counts that change). */
export async function pick(select: Locator, text: string) {
  const value = await select.locator("option", { hasText: text }).first().getAttribute("value");
  expect(value, `an option "${text}"`).not.toBeNull();
  await select.selectOption(value ?? "");
}

/** Enrolls a node through the Nodes page; returns its one-time join token. */
export async function enroll(page: Page, name: string) {
  await page.goto("/nodes");
  await page.getByRole("button", { name: "Enroll node" }).first().click();
  const d = dialog(page, "Enroll node");
  await d.getByLabel("Node name").fill(name);
  await d.getByRole("button", { name: "Enroll" }).click();
  const done = dialog(page, `Node ${name} enrolled`);
  const token = (await done.getByTestId("join-token").textContent())?.trim() ?? "";
  // Copied, as an admin would: Done on an uncopied token asks before closing.
  await done.getByRole("button", { name: "Copy join token" }).click();
  await done.getByRole("button", { name: "Done" }).click();
  await expect(done).toBeHidden();
  return token;
}

/** Creates an instance with one NIC on `vnet` through the Instances page. */
export async function newInstance(page: Page, name: string, node: string, vnet: string) {
  await page.goto("/instances");
  await page.getByRole("button", { name: "New instance" }).first().click();
  const d = dialog(page, "New instance");
  await d.getByLabel("Name", { exact: true }).fill(name);
  await pick(d.getByLabel("Node"), `${node} (`);
  await pick(d.getByLabel("VNET of eth0"), `${vnet} —`);
  await d.getByRole("button", { name: "Create instance" }).click();
  await expect(d).toBeHidden();
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

  /** Freezes the agent (SIGSTOP), as a busy or slow node: pushes wait until resume(). */
  pause(): void {
    this.child?.kill("SIGSTOP");
  }

  resume(): void {
    this.child?.kill("SIGCONT");
  }

  async stop(removeNamespaces: boolean): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null) {
      child.kill("SIGCONT");
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    }
    if (removeNamespaces) deleteNamespaces(this.netns);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
