// Settings shared by playwright.config.ts and the specs.
export const E2E_PORT = 3199;
export const E2E_ADMIN_PASSWORD = "e2e-admin-password-1";
