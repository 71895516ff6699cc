// Signing in over plain http from another machine: Chromium runs inside a network namespace this
// test creates and browses the portal at a non-loopback address across a veth pair, the way a
// browser on another host would. A session cookie marked Secure over http is dropped by the
// browser, which then stays on the login page; here the sign-in must land on the VNETs page.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { type Browser, chromium, expect, test } from "@playwright/test";
import { deleteNamespaces, kernelUnavailable, nsPrefix, requireKernel } from "../tests/kernel";
import { E2E_PORT } from "./env";
import { ADMIN } from "./helpers";

const kernel = requireKernel("login over plain http from another machine");
const ns = nsPrefix("http");
const hostVeth = `bhv${process.pid}h`;
// 198.18.0.0/15 is the benchmarking range: never routed, so nothing real is hidden by it. The
// third octet comes from the pid so two runs side by side pick different /30s.
const octet = 200 + (process.pid % 50);
const portalIp = `198.19.${octet}.1`;
const browserIp = `198.19.${octet}.2`;
const portal = `http://${portalIp}:${E2E_PORT}`;

const ip = (...args: string[]) => execFileSync("ip", args, { stdio: "pipe" });

test.describe("login over plain http from another machine", () => {
  let browser: Browser | null = null;
  let dir = "";

  test.beforeAll(async () => {
    if (!kernel) return;
    ip("netns", "add", ns);
    ip("link", "add", hostVeth, "type", "veth", "peer", "name", "eth0", "netns", ns);
    ip("addr", "add", `${portalIp}/30`, "dev", hostVeth);
    ip("link", "set", hostVeth, "up");
    ip("-n", ns, "addr", "add", `${browserIp}/30`, "dev", "eth0");
    ip("-n", ns, "link", "set", "eth0", "up");
    ip("-n", ns, "link", "set", "lo", "up");
    // Chromium itself runs in the namespace: Playwright drives it over inherited pipes, which
    // `ip netns exec` keeps open.
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "bh-e2e-http-"));
    const wrapper = path.join(dir, "chromium-in-ns");
    fs.writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${ns} /usr/bin/chromium "$@"\n`, {
      mode: 0o755,
    });
    browser = await chromium.launch({
      executablePath: wrapper,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
      ],
    });
  });

  test.afterAll(async () => {
    await browser?.close().catch(() => {});
    // Deleting the namespace deletes its end of the veth pair, and with it the host end.
    deleteNamespaces(ns);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test("the admin signs in at a non-loopback http address and lands on the VNETs page", async () => {
    test.skip(!kernel, `needs root and network namespaces: ${kernelUnavailable()}`);
    const context = await browser!.newContext({ baseURL: portal, viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await page.goto("/login");
    await page.getByLabel("User name").fill(ADMIN.username);
    await page.getByLabel("Password").fill(ADMIN.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page).toHaveURL(`${portal}/vnets`);
    await expect(page.getByRole("heading", { name: "Virtual networks", exact: true })).toBeVisible();
    const cookies = await context.cookies();
    expect(cookies.find((c) => c.name.endsWith("session_token"))).toMatchObject({
      name: "better-auth.session_token",
      secure: false,
      httpOnly: true,
    });
    await context.close();
  });

  test("the login page warns that the password would cross the network unencrypted", async () => {
    test.skip(!kernel, `needs root and network namespaces: ${kernelUnavailable()}`);
    const context = await browser!.newContext({ baseURL: portal });
    const page = await context.newPage();
    await page.goto("/login");
    await expect(page.getByTestId("plain-http-warning")).toContainText(
      `You reached ${portalIp}:${E2E_PORT} over plain http`,
    );
    await context.close();
  });

  test("after five wrong passwords the login form says the account is locked and for how long", async () => {
    test.skip(!kernel, `needs root and network namespaces: ${kernelUnavailable()}`);
    const context = await browser!.newContext({ baseURL: portal });
    const page = await context.newPage();
    await page.goto("/login");
    // An account nobody uses: locking "admin" would lock the other specs out for 15 minutes.
    await page.getByLabel("User name").fill("lockedout");
    const alert = page.getByRole("form", { name: "Sign in" }).getByRole("alert");
    for (let i = 1; i <= 5; i++) {
      await page.getByLabel("Password").fill(`wrong-password-${i}`);
      await page.getByRole("button", { name: "Sign in" }).click();
      await expect(alert).toHaveText("Wrong user name or password");
      await expect(page.getByRole("button", { name: "Sign in" })).toBeEnabled();
    }
    await page.getByLabel("Password").fill("wrong-password-6");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(alert).toHaveText("Too many failed sign-ins for lockedout; try again in 15 minutes");
    await context.close();
  });
});
