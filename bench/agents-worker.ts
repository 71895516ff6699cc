// Hosts several node agents in one process for `npm run bench -- push` (100 agents as 100 Node
// processes would cost ~10 GB and minutes of start-up on this machine). Each is the real agent:
// its own credential, SSE channel, reconciler and dataplane in its own node namespace.
// argv[2]: JSON array of { server, token, netns, state }.
import { runAgent } from "../agent/agent";

const specs = JSON.parse(process.argv[2] ?? "[]") as {
  server: string;
  token: string;
  netns: string;
  state: string;
}[];
const agents = await Promise.all(
  specs.map((s) =>
    runAgent(
      {
        server: s.server,
        token: s.token,
        netns: s.netns,
        state: s.state,
        interval: "60",
        "underlay-dev": "ul0",
      },
      { onFatal: (err) => console.error(`agent ${s.netns}: ${err.message}`) },
    ),
  ),
);
console.log(`ready ${agents.length}`);
process.once("SIGTERM", () => void Promise.all(agents.map((a) => a.stop())).then(() => process.exit(0)));
