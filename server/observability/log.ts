// Structured logs (pino): one JSON line per event on stdout, for journald or a log shipper. The
// level comes from BRIDGEHEAD_LOG_LEVEL; `npm run dev` pipes the same lines through pino-pretty
// (scripts in package.json) instead of a transport thread inside the server. Each App has its own
// logger, so a test can read the lines of its own app (logTo).
import { type DestinationStream, type Logger, pino } from "pino";
import type { App } from "../app";

const byApp = new WeakMap<App, Logger>();

function create(app: App, destination?: DestinationStream): Logger {
  return pino(
    {
      level: app.env.BRIDGEHEAD_LOG_LEVEL,
      base: { service: "bridgehead-portal" },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Never log a credential, even if a caller passes headers along.
      redact: ["headers.authorization", "headers.cookie", "token", "credential", "password"],
    },
    destination ?? pino.destination({ fd: 1, sync: false }),
  );
}

/** The logger of `app` (created on first use). */
export function logOf(app: App): Logger {
  let l = byApp.get(app);
  if (!l) {
    l = create(app);
    byApp.set(app, l);
  }
  return l;
}

/** Sends `app`'s log lines to `destination` from now on (tests, and tools that embed the portal). */
export function logTo(app: App, destination: DestinationStream): Logger {
  const l = create(app, destination);
  byApp.set(app, l);
  return l;
}
