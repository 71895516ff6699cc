// `bridgehead-agent install|status|uninstall`: puts the bundled agent on a node as a systemd service.
// install copies the bundle (and its python helpers) to /usr/local/lib/bridgehead-agent, keeps the
// join token in the state directory (mode 600, never in the world-readable unit), writes the unit
// and starts it. --root DIR does all of it under DIR (tests, image builds) and starts nothing.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { ifName, ipv4 } from "../lib/domain";
import { WIRE_VERSION } from "../lib/wire";
import { AgentExit } from "./agent";
import { createDataplane } from "./dataplane";

export const UNIT_NAME = "bridgehead-agent.service";
export const LIB_DIR = "/usr/local/lib/bridgehead-agent";
export const STATE_DIR = "/var/lib/bridgehead-agent";
export const UNIT_DIR = "/etc/systemd/system";
const HELPERS = ["nlhelper.py", "ct-delete.py"];

export interface InstallOptions {
  server: string;
  token: string;
  netns?: string;
  "underlay-dev"?: string;
  vtep?: string;
  interval?: string;
  insecure?: boolean;
  /** The node binary the unit runs (default: this one). */
  node?: string;
}

const quote = (a: string) =>
  /^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `"${a.replace(/(["\\$`])/g, "\\$1")}"`;

/** The unit file: restart always; root with only the capabilities the dataplane needs (links,
 * nftables and tc: NET_ADMIN; raw sockets of the pyroute2 helpers: NET_RAW; setns and the
 * /run/netns bind mounts of guest namespaces: SYS_ADMIN); a read-only system but its state dir. */
export function unitFile(o: InstallOptions): string {
  const args = [
    o.node ?? process.execPath,
    `${LIB_DIR}/bridgehead-agent.mjs`,
    "--server",
    o.server,
    "--token-file",
    `${STATE_DIR}/join-token`,
    "--state",
    `${STATE_DIR}/state.json`,
    ...(o.netns ? ["--netns", o.netns] : []),
    ...(o["underlay-dev"] ? ["--underlay-dev", o["underlay-dev"]] : []),
    ...(o.vtep ? ["--vtep", o.vtep] : []),
    ...(o.interval ? ["--interval", o.interval] : []),
    ...(o.insecure ? ["--insecure"] : []),
  ];
  return `# Written by \`bridgehead-agent install\`; \`bridgehead-agent uninstall\` removes it.
[Unit]
Description=Bridgehead node agent (applies this node's virtual networks)
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
ExecStartPre=+/bin/mkdir -p /run/netns
ExecStart=${args.map(quote).join(" ")}
Restart=always
RestartSec=2
# Stopping or restarting the agent ends the agent only: the per-VNET dnsmasq servers it started
# keep answering DHCP and DNS, and the next agent adopts them by pid file and command line. The
# default (control-group) would kill them with it, and guests renewing meanwhile would go without.
KillMode=process
CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW CAP_SYS_ADMIN CAP_NET_BIND_SERVICE CAP_SETUID CAP_SETGID
AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW CAP_SYS_ADMIN CAP_NET_BIND_SERVICE CAP_SETUID CAP_SETGID
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
StateDirectory=bridgehead-agent
StateDirectoryMode=0700
ReadWritePaths=${STATE_DIR} /run/netns
UMask=0077
RuntimeDirectory=bridgehead
RuntimeDirectoryMode=0755
RuntimeDirectoryPreserve=yes
Environment=BRIDGEHEAD_PYTHON=/usr/bin/python3

[Install]
WantedBy=multi-user.target
`;
}

const under = (root: string, p: string) => path.join(root, p);

function systemctl(args: string[]) {
  execFileSync("systemctl", args, { stdio: "inherit" });
}

/** Installs: files, token (600), unit; with the real root, enables and starts the service. */
export function install(o: InstallOptions, root = "/", bundle = process.argv[1]!) {
  if (!o.server || !o.token) throw new AgentExit(2, "install needs --server URL and --token JOIN_TOKEN");
  if (o["underlay-dev"] && !ifName.safeParse(o["underlay-dev"]).success)
    throw new AgentExit(2, `--underlay-dev ${o["underlay-dev"]} is not an interface name`);
  if (o.vtep && !ipv4.safeParse(o.vtep).success)
    throw new AgentExit(2, `--vtep ${o.vtep} is not an IPv4 address`);
  if (!bundle.endsWith(".mjs"))
    throw new AgentExit(
      2,
      "install runs from the bundled agent (dist/bridgehead-agent.mjs: npm run build:agent)",
    );
  const lib = under(root, LIB_DIR);
  fs.mkdirSync(lib, { recursive: true, mode: 0o755 });
  fs.copyFileSync(bundle, path.join(lib, "bridgehead-agent.mjs"));
  for (const h of HELPERS) {
    const src = path.join(path.dirname(bundle), h);
    if (fs.existsSync(src)) fs.copyFileSync(src, path.join(lib, h));
  }
  const state = under(root, STATE_DIR);
  fs.mkdirSync(path.dirname(state), { recursive: true, mode: 0o755 });
  fs.mkdirSync(state, { recursive: true, mode: 0o700 });
  fs.chmodSync(state, 0o700);
  fs.writeFileSync(path.join(state, "join-token"), `${o.token}\n`, { mode: 0o600 });
  fs.chmodSync(path.join(state, "join-token"), 0o600);
  const unitDir = under(root, UNIT_DIR);
  fs.mkdirSync(unitDir, { recursive: true });
  fs.writeFileSync(path.join(unitDir, UNIT_NAME), unitFile(o), { mode: 0o644 });
  console.log(`installed ${path.join(unitDir, UNIT_NAME)} and ${lib}; state in ${state} (mode 700)`);
  if (root === "/") {
    systemctl(["daemon-reload"]);
    systemctl(["enable", "--now", UNIT_NAME]);
    console.log(`started ${UNIT_NAME}; follow it with: journalctl -fu ${UNIT_NAME}`);
  }
}

/** What is installed and, with the real root, whether systemd runs it. Returns the lines printed. */
export function status(root = "/"): string[] {
  const lines: string[] = [];
  const unit = path.join(under(root, UNIT_DIR), UNIT_NAME);
  if (!fs.existsSync(unit)) {
    lines.push(`not installed (no ${unit})`);
    console.log(lines[0]);
    return lines;
  }
  lines.push(`unit: ${unit}`);
  const stateFile = path.join(under(root, STATE_DIR), "state.json");
  try {
    const s = JSON.parse(fs.readFileSync(stateFile, "utf8"));
    lines.push(
      `enrolled as node ${s.nodeName} (id ${s.nodeId}) at ${s.server}; ${s.pins ? `certificate pin ${s.pins.join(", ")}` : "INSECURE (plain HTTP)"}; last applied revision ${s.lastDesired?.revision ?? "none"}`,
    );
  } catch {
    lines.push("not enrolled yet (no state file)");
  }
  if (root === "/") {
    try {
      lines.push(
        `service: ${execFileSync("systemctl", ["is-active", UNIT_NAME], { encoding: "utf8" }).trim()}`,
      );
    } catch (err) {
      lines.push(`service: ${(err as { stdout?: string }).stdout?.trim() || "unknown"}`);
    }
  }
  for (const l of lines) console.log(l);
  return lines;
}

/** Stops and removes the service, its files and its state. The node's networks stay as they are
 * (guests keep running) unless the caller purges the dataplane first. */
export function uninstall(root = "/") {
  const unit = path.join(under(root, UNIT_DIR), UNIT_NAME);
  if (root === "/" && fs.existsSync(unit)) {
    try {
      systemctl(["disable", "--now", UNIT_NAME]);
    } catch {
      // Not running or systemd absent: removing the files is what is left to do.
    }
  }
  fs.rmSync(unit, { force: true });
  fs.rmSync(under(root, LIB_DIR), { recursive: true, force: true });
  fs.rmSync(under(root, STATE_DIR), { recursive: true, force: true });
  if (root === "/") {
    try {
      systemctl(["daemon-reload"]);
    } catch {
      // systemd absent.
    }
  }
  console.log(`removed ${unit}, ${under(root, LIB_DIR)} and ${under(root, STATE_DIR)}`);
}

/** Removes every network and port Bridgehead made on this node (uninstall --purge-dataplane):
 * reconciles to an empty desired state. Guests attached to them lose their network. */
export async function purgeDataplane(netns?: string) {
  const dp = createDataplane({ nodeNetns: netns, guestPrefix: netns ?? "bh" });
  const r = await dp.reconcile({
    wireVersion: WIRE_VERSION,
    nodeId: 1,
    nodeName: "uninstalled",
    revision: 0,
    networks: [],
    ports: [],
  });
  console.log(
    r.ok
      ? `dataplane removed (${r.operations} operations)`
      : `dataplane removal failed: ${r.error ?? "unknown error"}`,
  );
  return r;
}
