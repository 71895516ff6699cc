// The lab's API-only portal (`npm run lab -- --no-ui`): the tRPC router on the plain Node host of
// server/http.ts, on the database named by BRIDGEHEAD_DB. SIGTERM ends agent streams and exits.
import { createApp } from "../server/app";
import { serveApp } from "../server/http";

const port = Number(process.argv[2] ?? 3100);
const app = createApp();
const srv = await serveApp(app, port);
console.log(`lab: API host on ${srv.url}/api/trpc`);
const stop = () => void srv.close().then(() => process.exit(0));
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
