// Settings shared by playwright.config.ts and the specs. BH_E2E_PORT lets two checkouts run their
// browser tests side by side.
export const E2E_PORT = Number(process.env.BH_E2E_PORT ?? 3199);
export const E2E_ADMIN_PASSWORD = "e2e-admin-password-1";
