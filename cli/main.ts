// bridgehead: the command line for the portal's REST API (/api/v1). Every command is one or two
// REST calls with the caller's API token, so it can do exactly what that user may in the portal.
// Human tables by default, --json for scripts; exit codes in client.ts (EXIT).
import fs from "node:fs";
import { Command, CommanderError, Option } from "commander";
import { CliError, type Config, EXIT, request, resolveConfig, writeConfig } from "./client";
import { type Column, fields, table } from "./format";

type Row = Record<string, unknown>;
type Globals = { json?: boolean; server?: string; token?: string };

const program = new Command("bridgehead")
  .description("Script Bridgehead virtual networks through the portal's REST API")
  .version(
    (JSON.parse(fs.readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string })
      .version,
    "-V, --version",
  )
  .option("--json", "print the server's answer as JSON (for scripts)")
  .option(
    "--server <url>",
    "the portal, e.g. https://portal.example:3000 (default: login, BRIDGEHEAD_SERVER)",
  )
  .option("--token <token>", "an API token (default: login, BRIDGEHEAD_TOKEN)")
  .showHelpAfterError()
  .exitOverride();

const globals = () => program.opts<Globals>();
const cfg = (): Config => resolveConfig({ server: globals().server, token: globals().token });
const api = (method: string, path: string, opts?: Parameters<typeof request>[3]) =>
  request(cfg(), method, path, opts);

/** Prints the answer: JSON as it came, or the human rendering. */
function out(data: unknown, human: (d: never) => string) {
  process.stdout.write(`${globals().json ? JSON.stringify(data, null, 2) : human(data as never)}\n`);
}

function int(name: string) {
  return (v: string) => {
    if (!/^\d+$/.test(v)) throw new CliError(`${name} must be a whole number, not "${v}"`, EXIT.invalid);
    return Number(v);
  };
}

/** A VNET or security group given by id or by name. */
async function resolveId(kind: "vnet" | "security group", ref: string): Promise<number> {
  if (/^\d+$/.test(ref)) return Number(ref);
  const list = (await api("GET", kind === "vnet" ? "/vnets" : "/security-groups")) as Row[];
  const hit = list.find((r) => r.name === ref);
  if (!hit)
    throw new CliError(
      `No ${kind} named "${ref}" that you may use (see \`bridgehead ${kind === "vnet" ? "vnet" : "sg"} list\`)`,
      EXIT.notFound,
    );
  return hit.id as number;
}

// --- login -------------------------------------------------------------------------------------
program
  .command("login")
  .description("check --server and --token against the portal and keep both in the config file (mode 600)")
  .action(async () => {
    const { server, token = process.env.BRIDGEHEAD_TOKEN } = globals();
    if (!server) throw new CliError("Give --server URL (the portal's address)", EXIT.invalid);
    if (!token) throw new CliError("Give --token TOKEN (create one on your profile page)", EXIT.invalid);
    const c = { server: server.replace(/\/+$/, ""), token };
    const me = (await request(c, "GET", "/me")) as Row & {
      token?: { name: string; readOnly: boolean } | null;
    };
    const file = writeConfig(c);
    out(
      { ...me, config: file },
      () => `Signed in to ${c.server} as ${me.username} (${me.role}); saved in ${file}`,
    );
  });

program
  .command("whoami")
  .description("the user your token acts as")
  .action(async () => out(await api("GET", "/me"), (m: Row) => fields(m, ["username", "name", "role"])));

// --- vnet --------------------------------------------------------------------------------------
const vnet = program.command("vnet").description("virtual networks");
const vnetCols: Column<Row>[] = [
  ["id", (r) => r.id],
  ["name", (r) => r.name],
  ["driver", (r) => r.driver],
  ["type", (r) => r.networkType],
  ["used", (r) => `${r.used}/${r.size}`],
  ["held", (r) => r.held],
];
vnet
  .command("list")
  .description("VNETs you may use")
  .action(async () => out(await api("GET", "/vnets"), (rows: Row[]) => table(rows, vnetCols, "No VNETs")));
vnet
  .command("show <vnet>")
  .description("one VNET (id or name) with its address ranges")
  .action(async (ref: string) => {
    const v = (await api("GET", `/vnets/${await resolveId("vnet", ref)}`)) as Row & { ranges: Row[] };
    out(v, () =>
      [
        fields(v, ["id", "name", "description", "driver", "networkType", "mtu", "bridge"]),
        "",
        table(v.ranges, [
          ["range", (r) => r.id],
          ["type", (r) => r.type],
          ["first", (r) => r.ip ?? r.ip6 ?? r.globalPrefix],
          ["size", (r) => r.size],
        ]),
      ].join("\n"),
    );
  });
vnet
  .command("create <name>")
  .description("create a VNET with its first IPv4 range (cloud admins)")
  .requiredOption("--subnet <cidr>", "e.g. 10.0.0.0/24")
  .requiredOption("--first-ip <ip>", "first address of the range")
  .requiredOption("--size <n>", "addresses in the range", int("--size"))
  .option("--gateway <ip>")
  .option("--dns <ips>", "comma-separated")
  .addOption(new Option("--driver <driver>").choices(["bridge", "vlan", "vxlan", "routed"]))
  .addOption(new Option("--type <type>", "network type").choices(["internal", "external"]))
  .option("--description <text>")
  .option("--mtu <n>", "MTU", int("--mtu"))
  .action(async (name: string, o: Row) => {
    const v = await api("POST", "/vnets", {
      body: {
        name,
        subnet: o.subnet,
        firstIp: o.firstIp,
        size: o.size,
        gateway: o.gateway,
        dns: o.dns,
        driver: o.driver,
        networkType: o.type,
        description: o.description,
        mtu: o.mtu,
      },
    });
    out(v, (r: Row) => `Created VNET ${r.name} (id ${r.id})`);
  });
vnet
  .command("update <vnet>")
  .description("change a VNET's name or description")
  .option("--name <name>")
  .option("--description <text>")
  .action(async (ref: string, o: Row) => {
    const id = await resolveId("vnet", ref);
    const r = await api("PATCH", `/vnets/${id}`, { body: { name: o.name, description: o.description } });
    out(r, () => `Updated VNET ${ref}`);
  });
vnet
  .command("delete <vnet>")
  .description("delete a VNET (refused while NICs use it)")
  .action(async (ref: string) => {
    const id = await resolveId("vnet", ref);
    out(await api("DELETE", `/vnets/${id}`), () => `Deleted VNET ${ref}`);
  });

// --- range -------------------------------------------------------------------------------------
const range = program.command("range").description("address ranges of a VNET");
range
  .command("add <vnet>")
  .description("add an IPv4 range (or --type ether for MAC-only)")
  .addOption(new Option("--type <type>").choices(["ip4", "ether"]).default("ip4"))
  .option("--ip <ip>", "first address (ip4)")
  .requiredOption("--size <n>", "addresses", int("--size"))
  .action(async (ref: string, o: { type: string; ip?: string; size: number }) => {
    const id = await resolveId("vnet", ref);
    const r = (await api("POST", `/vnets/${id}/ranges`, {
      body: { range: { type: o.type, ip: o.ip, size: o.size } },
    })) as { range: Row };
    out(r, () => `Added range ${r.range.id} to ${ref}: ${r.range.ip ?? r.range.type} +${r.range.size}`);
  });
range
  .command("resize <range-id>")
  .description("grow or shrink a range (shrinking refused over used leases)")
  .requiredOption("--size <n>", "new size", int("--size"))
  .action(async (rid: string, o: { size: number }) => {
    out(
      await api("PATCH", `/ranges/${int("range-id")(rid)}`, { body: { size: o.size } }),
      () => `Range ${rid} now has ${o.size} addresses`,
    );
  });
range
  .command("remove <range-id>")
  .description("remove a range (refused while it has used leases)")
  .action(async (rid: string) =>
    out(await api("DELETE", `/ranges/${int("range-id")(rid)}`), () => `Removed range ${rid}`),
  );

// --- lease -------------------------------------------------------------------------------------
const lease = program.command("lease").description("addresses of a VNET: list, hold, release, history");
lease
  .command("list <vnet>")
  .description("the VNET's addresses")
  .addOption(new Option("--state <state>").choices(["all", "leased", "used", "hold", "free"]).default("all"))
  .option("--search <text>", "address, MAC or instance")
  .option("--limit <n>", "at most this many", int("--limit"), 200)
  .action(async (ref: string, o: { state: string; search?: string; limit: number }) => {
    const id = await resolveId("vnet", ref);
    const r = (await api("GET", `/vnets/${id}/leases`, {
      query: { state: o.state, q: o.search, limit: o.limit },
    })) as {
      rows: Row[];
      total: number;
    };
    out(
      r,
      () =>
        `${table(
          r.rows,
          [
            ["ip", (x) => x.ip],
            ["ip6", (x) => x.ip6],
            ["mac", (x) => x.mac],
            ["state", (x) => x.state],
            ["instance", (x) => x.instance],
            ["reason", (x) => x.reason],
          ],
          "No addresses match",
        )}\n(${r.rows.length} of ${r.total})`,
    );
  });
lease
  .command("hold <vnet> <address>")
  .description("keep an address (or a span up to --to) from being leased")
  .option("--to <address>", "last address of a span")
  .requiredOption("--reason <text>", "why it is held")
  .action(async (ref: string, from: string, o: { to?: string; reason: string }) => {
    const id = await resolveId("vnet", ref);
    const r = (await api("POST", `/vnets/${id}/leases/hold`, {
      body: { from, to: o.to ?? "", reason: o.reason },
    })) as Row;
    out(r, () => `Held ${r.held} address(es) on ${ref}`);
  });
lease
  .command("release <vnet> <address>")
  .description("release held addresses")
  .option("--to <address>", "last address of a span")
  .action(async (ref: string, from: string, o: { to?: string }) => {
    const id = await resolveId("vnet", ref);
    const r = (await api("POST", `/vnets/${id}/leases/release`, { body: { from, to: o.to ?? "" } })) as Row;
    out(r, () => `Released ${r.released} address(es) on ${ref}`);
  });
lease
  .command("history <vnet>")
  .description("who had which address, when")
  .option("--address <ip>")
  .action(async (ref: string, o: { address?: string }) => {
    const id = await resolveId("vnet", ref);
    out(await api("GET", `/vnets/${id}/leases/history`, { query: { address: o.address } }), (rows: Row[]) =>
      table(
        rows,
        [
          ["at", (x) => x.at],
          ["action", (x) => x.action],
          ["ip", (x) => x.ip],
          ["mac", (x) => x.mac],
          ["instance", (x) => x.instance],
          ["user", (x) => x.user],
          ["reason", (x) => x.reason],
        ],
        "No history",
      ),
    );
  });

// --- sg ----------------------------------------------------------------------------------------
const sg = program.command("sg").description("security groups");
const ruleCols: Column<Row>[] = [
  ["rule", (r) => r.id],
  ["direction", (r) => r.direction],
  ["protocol", (r) => r.protocol],
  ["ports", (r) => r.range],
  [
    "remote",
    (r) =>
      r.networkId !== undefined
        ? `vnet ${r.networkId}`
        : r.ip
          ? `${r.ip}${r.size ? ` +${r.size}` : ""}`
          : "any",
  ],
];
sg.command("list")
  .description("security groups you may use")
  .action(async () =>
    out(await api("GET", "/security-groups"), (rows: Row[]) =>
      table(
        rows,
        [
          ["id", (r) => r.id],
          ["name", (r) => r.name],
          ["rules", (r) => r.rules],
          ["vnets", (r) => r.vnets],
          ["description", (r) => r.description],
        ],
        "No security groups",
      ),
    ),
  );
sg.command("show <group>")
  .description("one group with its rules")
  .action(async (ref: string) => {
    const g = (await api("GET", `/security-groups/${await resolveId("security group", ref)}`)) as Row & {
      rules: Row[];
    };
    out(
      g,
      () =>
        `${fields(g, ["id", "name", "description"])}\n\n${table(g.rules, ruleCols, "No rules: the group allows nothing")}`,
    );
  });
sg.command("create <name>")
  .description("create a group; --allow-outbound starts it with one rule allowing all outbound traffic")
  .option("--description <text>")
  .option("--allow-outbound", "add an ALL/OUTBOUND rule")
  .action(async (name: string, o: { description?: string; allowOutbound?: boolean }) => {
    const rules = o.allowOutbound ? [{ protocol: "ALL", direction: "OUTBOUND" }] : [];
    const r = (await api("POST", "/security-groups", {
      body: { name, description: o.description, rules },
    })) as Row;
    out(r, () => `Created security group ${name} (id ${r.id})`);
  });

/** The stored rules as the input shape PUT takes (rule ids are the server's, not part of it). */
function asInput(rules: Row[]) {
  return rules.map(({ protocol, direction, ip, size, range, icmpType, networkId }) => ({
    protocol,
    direction,
    ip,
    size,
    range,
    icmpType,
    networkId,
  }));
}
async function replaceRules(ref: string, edit: (rules: Row[]) => Row[]) {
  const id = await resolveId("security group", ref);
  const g = (await api("GET", `/security-groups/${id}`)) as Row & { rules: Row[] };
  return api("PUT", `/security-groups/${id}`, {
    body: { name: g.name, description: g.description, rules: asInput(edit(g.rules)) },
  });
}
const rule = sg.command("rule").description("rules of a group");
rule
  .command("add <group>")
  .description("append a rule")
  .addOption(new Option("--direction <d>").choices(["INBOUND", "OUTBOUND"]).makeOptionMandatory())
  .addOption(
    new Option("--protocol <p>")
      .choices(["ALL", "TCP", "UDP", "ICMP", "ICMPv6", "IPSEC"])
      .makeOptionMandatory(),
  )
  .option("--ports <list>", "TCP/UDP ports, e.g. 22,80,8000:8080")
  .option("--ip <ip>", "first remote address (default: any)")
  .option("--size <n>", "remote addresses from --ip", int("--size"))
  .option("--network <vnet-id>", "the addresses of another VNET", int("--network"))
  .option("--icmp-type <n>", "ICMP type", int("--icmp-type"))
  .action(async (ref: string, o: Row) => {
    const r = await replaceRules(ref, (rules) => [
      ...rules,
      {
        protocol: o.protocol,
        direction: o.direction,
        range: o.ports,
        ip: o.ip,
        size: o.size,
        networkId: o.network,
        icmpType: o.icmpType,
      },
    ]);
    out(r, () => `Added a ${o.direction} ${o.protocol} rule to ${ref}`);
  });
rule
  .command("delete <group> <rule-id>")
  .description("remove one rule (ids: `bridgehead sg show`)")
  .action(async (ref: string, ruleId: string) => {
    const rid = int("rule-id")(ruleId);
    const r = await replaceRules(ref, (rules) => {
      if (!rules.some((x) => x.id === rid))
        throw new CliError(
          `Security group ${ref} has no rule ${rid} (see \`bridgehead sg show ${ref}\`)`,
          EXIT.notFound,
        );
      return rules.filter((x) => x.id !== rid);
    });
    out(r, () => `Deleted rule ${rid} of ${ref}`);
  });
for (const [verb, attached] of [
  ["attach", true],
  ["detach", false],
] as const)
  sg.command(`${verb} <group>`)
    .description(`${verb} a group ${attached ? "to" : "from"} a VNET (every NIC on it) or one NIC`)
    .option("--vnet <vnet>", "id or name")
    .option("--nic <nic-id>", "one NIC", int("--nic"))
    .action(async (ref: string, o: { vnet?: string; nic?: number }) => {
      if (!o.vnet === (o.nic === undefined))
        throw new CliError("Give exactly one of --vnet or --nic", EXIT.invalid);
      const sgId = await resolveId("security group", ref);
      const r = o.vnet
        ? await api("POST", `/security-groups/${sgId}/vnets/${await resolveId("vnet", o.vnet)}`, {
            body: { attached },
          })
        : await api("POST", `/security-groups/${sgId}/nics/${o.nic}`, { body: { attached } });
      out(
        r,
        (x: Row) =>
          `${x.changed === false ? "Already " : ""}${attached ? "attached" : "detached"}: ${ref} ${attached ? "on" : "from"} ${o.vnet ? `VNET ${o.vnet}` : `NIC ${o.nic}`}`,
      );
    });
sg.command("explain <nic-id>")
  .description("which rule decides a new connection on a NIC")
  .addOption(new Option("--direction <d>").choices(["INBOUND", "OUTBOUND"]).makeOptionMandatory())
  .addOption(
    new Option("--protocol <p>").choices(["tcp", "udp", "icmp", "icmpv6", "esp", "ah"]).makeOptionMandatory(),
  )
  .requiredOption("--remote <ip>", "the other end")
  .option("--port <n>", "TCP/UDP port", int("--port"))
  .action(async (nic: string, o: Row) => {
    const r = (await api("GET", `/nics/${int("nic-id")(nic)}/explain`, {
      query: {
        direction: o.direction as string,
        protocol: o.protocol as string,
        remote: o.remote as string,
        port: o.port as number | undefined,
      },
    })) as Row;
    out(r, () => JSON.stringify(r, null, 2));
  });

// --- instance ----------------------------------------------------------------------------------
const instance = program.command("instance").description("instances and their NICs");
instance.command("list").action(async () =>
  out(await api("GET", "/instances"), (rows: (Row & { nics: Row[] })[]) =>
    table(
      rows,
      [
        ["id", (r) => r.id],
        ["name", (r) => r.name],
        ["node", (r) => r.nodeName ?? r.nodeId],
        ["nics", (r) => r.nics.map((n) => `${n.ip ?? n.ip6 ?? "-"}@${n.vnetName ?? n.vnetId}`).join(" ")],
      ],
      "No instances",
    ),
  ),
);
instance
  .command("create <name>")
  .description("create an instance with one NIC per --vnet")
  .requiredOption("--node <node-id>", "the node it runs on", int("--node"))
  .requiredOption("--vnet <vnet...>", "a VNET (id or name) per NIC; vnet=IP asks for an address")
  .action(async (name: string, o: { node: number; vnet: string[] }) => {
    const nics = [];
    for (const v of o.vnet) {
      const [ref, ip] = v.split("=");
      nics.push({ vnetId: await resolveId("vnet", ref!), ip: ip ?? "" });
    }
    const r = (await api("POST", "/instances", { body: { name, nodeId: o.node, nics } })) as Row & {
      nics: Row[];
    };
    out(r, () => `Created instance ${name} (id ${r.id}): ${r.nics.map((n) => n.ip ?? n.ip6).join(", ")}`);
  });
instance
  .command("delete <instance-id>")
  .description("delete an instance (its addresses are freed)")
  .action(async (id: string) =>
    out(await api("DELETE", `/instances/${int("instance-id")(id)}`), () => `Deleted instance ${id}`),
  );

// --- node --------------------------------------------------------------------------------------
const node = program.command("node").description("hypervisor nodes (cloud admins)");
node.command("list").action(async () =>
  out(await api("GET", "/nodes"), (rows: Row[]) =>
    table(
      rows,
      [
        ["id", (r) => r.id],
        ["name", (r) => r.name],
        ["state", (r) => r.state],
        ["desired", (r) => r.desiredRevision],
        ["applied", (r) => r.appliedRevision],
        ["in sync", (r) => (r.inSync ? "yes" : "no")],
        ["error", (r) => r.lastError],
      ],
      "No nodes",
    ),
  ),
);
node
  .command("plan <node-id>")
  .description("the commands the node's agent would run now")
  .action(async (id: string) => {
    const r = (await api("GET", `/nodes/${int("node-id")(id)}/plan`)) as Row & { lines?: string[] };
    out(r, () =>
      r.lines?.length ? r.lines.join("\n") : "Nothing to do: the node matches its desired state",
    );
  });

// --- audit -------------------------------------------------------------------------------------
program
  .command("audit")
  .description("the audit log (cloud admins)")
  .command("list")
  .option("--actor <name>")
  .option("--action <prefix>", "e.g. vnet. or lease.hold")
  .addOption(new Option("--outcome <o>").choices(["ok", "refused", "error"]))
  .option("--object <id-or-name>")
  .option("--limit <n>", "at most this many", int("--limit"), 50)
  .action(async (o: Row) => {
    const r = (await api("GET", "/audit", {
      query: {
        actor: o.actor as string,
        action: o.action as string,
        outcome: o.outcome as string,
        object: o.object as string,
        limit: o.limit as number,
      },
    })) as { rows: Row[] };
    out(r, () =>
      table(
        r.rows,
        [
          ["at", (x) => x.at],
          ["actor", (x) => x.actor],
          ["action", (x) => x.action],
          ["outcome", (x) => x.outcome],
          ["object", (x) => x.objectName ?? x.objectId],
          ["detail", (x) => x.detail],
        ],
        "No entries",
      ),
    );
  });

// --- completion --------------------------------------------------------------------------------
program
  .command("completion")
  .description("print a bash completion script: source <(bridgehead completion)")
  .action(() => {
    const words = (c: Command) => c.commands.map((s) => s.name()).join(" ");
    const cases = [program, ...program.commands, ...program.commands.flatMap((c) => c.commands)]
      .filter((c) => c.commands.length)
      .map((c) => `    ${c === program ? "bridgehead" : c.name()}) opts="${words(c)}" ;;`)
      .join("\n");
    process.stdout.write(`# bash completion for bridgehead (generated by \`bridgehead completion\`)
_bridgehead() {
  local cur prev opts
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  case "$prev" in
${cases}
    *) opts="--json --help" ;;
  esac
  COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
}
complete -F _bridgehead bridgehead
`);
  });

/** Runs the CLI; resolves with the exit code (the bin calls process.exit with it). */
export async function main(argv: string[]): Promise<number> {
  try {
    await program.parseAsync(argv, { from: "user" });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      return err.exitCode === 0 ? EXIT.ok : EXIT.invalid;
    }
    if (err instanceof CliError) {
      if (globals().json)
        process.stderr.write(
          `${JSON.stringify({ error: err.message, exit: err.exit, fieldErrors: err.fieldErrors })}\n`,
        );
      else {
        process.stderr.write(`bridgehead: ${err.message}\n`);
        for (const [field, msgs] of Object.entries(err.fieldErrors ?? {}))
          process.stderr.write(`  ${field || "(input)"}: ${(msgs ?? []).join("; ")}\n`);
      }
      return err.exit;
    }
    process.stderr.write(`bridgehead: ${(err as Error).stack ?? err}\n`);
    return EXIT.error;
  }
}
