// Seeds the topology spec's own portal database: `npx tsx e2e/topology-seed.ts DIR [nodes] [vnets]
// [instances]` writes DIR/db.sqlite through the real procedures — nodes (every fifth enrolled),
// VNETs (every fourth VXLAN), instances spread over the nodes, each with one NIC on one of five
// VNETs its node hosts — and prints one JSON line with the ids the spec needs.
import path from "node:path";
import { callerFor, fixtureUser, testApp } from "../server/harness.testing";

const [dir, nodesArg = "50", vnetsArg = "20", instancesArg = "1000"] = process.argv.slice(2);
if (!dir) throw new Error("usage: topology-seed.ts DIR [nodes] [vnets] [instances]");
const app = testApp(path.join(dir, "db.sqlite"));
const admin = fixtureUser(app, "seed", "admin", [0]).caller;
const NODES = Number(nodesArg);
const VNETS = Number(vnetsArg);
const INSTANCES = Number(instancesArg);
const vnets: number[] = [];
for (let v = 0; v < VNETS; v++)
  vnets.push(
    (
      await admin.vnet.create({
        name: `topo-net-${String(v).padStart(2, "0")}`,
        subnet: `10.${100 + v}.0.0/24`,
        gateway: `10.${100 + v}.0.1`,
        firstIp: `10.${100 + v}.0.10`,
        size: 200,
        ...(v % 4 === 3 ? { driver: "vxlan" as const, vni: 5000 + v } : {}),
      })
    ).id,
  );
const nodes: number[] = [];
for (let n = 0; n < NODES; n++) {
  const node = await admin.node.create({ name: `topo-node-${String(n).padStart(2, "0")}` });
  if (n % 5 === 0) await callerFor(app, null).agent.join({ token: node.joinToken });
  nodes.push(node.id);
}
for (let i = 0; i < INSTANCES; i++) {
  const n = i % NODES;
  const vnetId = vnets[(n + (Math.floor(i / NODES) % 5)) % VNETS]!;
  await admin.instance.create({
    name: `topo-vm-${String(i).padStart(4, "0")}`,
    nodeId: nodes[n]!,
    nics: [{ vnetId }],
  });
}
app.db.$client.close();
console.log(JSON.stringify({ vnets, nodes }));
