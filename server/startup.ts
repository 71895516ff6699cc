// Server start: validate settings, migrate, create the first admin on a fresh database, and make
// SIGTERM end open agent subscriptions so `next start` exits promptly
// (an open SSE stream otherwise keeps the HTTP server from closing).
import { getApp } from "./app";
import { scrubForwardedHeaders } from "./forwarded";
import { startBackupSchedule } from "./services/backups";
import { bootstrapAdmin } from "./services/users";

export async function startServer() {
  let app: ReturnType<typeof getApp>;
  try {
    app = getApp();
    scrubForwardedHeaders(app.env);
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  }
  const first = await bootstrapAdmin(app);
  if (first) {
    const pw = first.generated ? first.password : "(the value of BRIDGEHEAD_ADMIN_PASSWORD)";
    console.log(
      [
        "",
        "  Bridgehead: first start, an admin account was created.",
        `    user name: ${first.username}`,
        `    password:  ${pw}`,
        "  Sign in and change it (Account menu, top right → Change password); this is shown only once.",
        "",
      ].join("\n"),
    );
  }
  const backups = startBackupSchedule(app);
  if (backups)
    console.log(
      `Bridgehead: backing up the database to ${app.env.BRIDGEHEAD_BACKUP_DIR} every ${app.env.BRIDGEHEAD_BACKUP_INTERVAL_MIN} min (keeping ${app.env.BRIDGEHEAD_BACKUP_KEEP})`,
    );
  const stop = (signal: string) => {
    console.log(`Bridgehead: ${signal}, closing agent channels`);
    backups?.stop();
    app.shutdown.abort();
    app.agents.disconnect();
    // Give streams a moment to flush their last event, then leave even if a client holds on.
    setTimeout(() => {
      app.db.$client.close();
      process.exit(0);
    }, 300).unref();
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
}
