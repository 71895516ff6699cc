// Small steps the portal specs share.
import { expect, type Page } from "@playwright/test";
import { E2E_ADMIN_PASSWORD } from "./env";

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
