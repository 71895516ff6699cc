// The browser side of HTTPS, against the portal's own server (`npm start` runs server/serve.ts, not
// `next start`): with TLS on (the self-signed certificate it generates on its first start) the
// session cookie is Secure, plain http on the same port is redirected to https, and every https
// answer carries HSTS. With TLS off, the login page reached from another machine warns that the
// password would cross the network unencrypted. Each portal gets its own database and port.
import os from "node:os";
import { type Browser, chromium, expect, test } from "@playwright/test";
import { E2E_ADMIN_PASSWORD, E2E_PORT } from "./env";
import { type Portal, startPortal, stopPortal } from "./portal-process";

// Two ports next to the shared e2e portal's, so BH_E2E_PORT keeps side-by-side runs apart.
const HTTPS_PORT = E2E_PORT + 1;
const HTTP_PORT = E2E_PORT + 2;

/** A non-loopback IPv4 address of this machine: the login page warns only when plain http could
 * leave the machine, so the browser must not reach the portal over loopback. */
function externalAddress(): string | null {
  for (const list of Object.values(os.networkInterfaces()))
    for (const a of list ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  return null;
}

test.describe("HTTPS in the browser", () => {
  let portal: Portal | null = null;
  let browser: Browser | null = null;
  const base = `https://localhost:${HTTPS_PORT}`;

  test.beforeAll(async () => {
    portal = await startPortal(HTTPS_PORT, {});
    browser = await chromium.launch({
      executablePath: "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-quic"],
    });
  });
  test.afterAll(async () => {
    await browser?.close();
    stopPortal(portal);
  });

  test("signing in over https sets a Secure session cookie, and https answers carry HSTS", async () => {
    // The certificate is the self-signed one the portal generated on its first start.
    const context = await browser!.newContext({
      ignoreHTTPSErrors: true,
      viewport: { width: 1280, height: 800 },
    });
    const page = await context.newPage();
    const login = await page.goto(`${base}/login`);
    expect(login?.headers()["strict-transport-security"]).toBe("max-age=31536000");
    // No warning over https.
    await expect(page.getByRole("button", { name: "Sign in" })).toBeVisible();
    await expect(page.getByTestId("plain-http-warning")).toHaveCount(0);
    await page.getByLabel("User name").fill("admin");
    await page.getByLabel("Password").fill(E2E_ADMIN_PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page).toHaveURL(`${base}/`);
    await expect(page.getByRole("heading", { name: "Overview", exact: true })).toBeVisible();
    const session = (await context.cookies(base)).find((c) => c.name.endsWith("session_token"));
    expect(session, "a session cookie").toBeDefined();
    expect(session!.secure).toBe(true);
    expect(session!.httpOnly).toBe(true);
    expect(session!.name).toBe("__Secure-better-auth.session_token");
    await context.close();
  });

  test("plain http on the same port is redirected to https", async () => {
    const context = await browser!.newContext({ ignoreHTTPSErrors: true });
    // The raw answer first: a permanent redirect to the same path over https.
    const raw = await context.request.get(`http://localhost:${HTTPS_PORT}/login?next=%2Fnodes`, {
      maxRedirects: 0,
    });
    expect(raw.status()).toBe(308);
    expect(raw.headers().location).toBe(`${base}/login?next=%2Fnodes`);
    // Then the browser: typing the http address lands on the https login page.
    const page = await context.newPage();
    await page.goto(`http://localhost:${HTTPS_PORT}/login`);
    await expect(page).toHaveURL(`${base}/login`);
    await expect(page.getByRole("button", { name: "Sign in" })).toBeVisible();
    await context.close();
  });
});

test.describe("plain HTTP (BRIDGEHEAD_TLS=off)", () => {
  const address = externalAddress();
  let portal: Portal | null = null;
  let browser: Browser | null = null;

  test.beforeAll(async () => {
    if (!address) return;
    portal = await startPortal(HTTP_PORT, { BRIDGEHEAD_TLS: "off" });
    browser = await chromium.launch({
      executablePath: "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-quic"],
    });
  });
  test.afterAll(async () => {
    await browser?.close();
    stopPortal(portal);
  });

  test("the login page warns that the password crosses the network unencrypted", async () => {
    if (!address) {
      console.log("skipped: this machine has no non-loopback IPv4 address to browse the portal at");
      expect(process.env.CI, "CI needs a non-loopback address").not.toBe("true");
      test.skip();
      return;
    }
    const page = await browser!.newPage({ viewport: { width: 1280, height: 800 } });
    const res = await page.goto(`http://${address}:${HTTP_PORT}/login`);
    // No HSTS over plain http (a browser would ignore it anyway, and it must not be promised).
    expect(res?.headers()["strict-transport-security"]).toBeUndefined();
    const warning = page.getByTestId("plain-http-warning");
    await expect(warning).toBeVisible();
    await expect(warning).toContainText("Not encrypted.");
    await expect(warning).toContainText(`${address}:${HTTP_PORT}`);
    // The form still works over http (a lab without TLS keeps signing in).
    await page.getByLabel("User name").fill("admin");
    await page.getByLabel("Password").fill(E2E_ADMIN_PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("heading", { name: "Overview", exact: true })).toBeVisible();
    await page.close();
  });
});
