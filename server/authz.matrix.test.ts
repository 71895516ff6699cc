// The authorization matrix: every tRPC procedure × {admin, owner, group member, other user,
// anonymous} × permission bits, against the documented rule. Table-driven over the router itself:
// a procedure without an entry here fails the first test, so nobody adds an unchecked endpoint.
//
// Rules (README "Permissions in the query"):
//   public  anyone, signed in or not
//   user    any signed-in user; anonymous → UNAUTHORIZED
//   admin   cloud admins; other users → FORBIDDEN; anonymous → UNAUTHORIZED
//   node    agent credential (Bearer); a user session is no credential → UNAUTHORIZED
//   token   a one-time join token is the credential: the same refusal for every caller
//   object  the caller holds `level` on the object (owner/group/other bits; admins always):
//           holding neither USE nor `level` → NOT_FOUND; seeing it but lacking `level` (or the
//           extra condition) → FORBIDDEN (or NOT_FOUND);
//           `adminRole`: cloud admins only whatever the bits (chown); `also`: an extra condition
//   list    the object appears in the list exactly when the caller may USE it
//   instanceOwner  the instance's owner or an admin; anybody else → NOT_FOUND
//   tokenOwner     the API token's user or an admin; anybody else → NOT_FOUND
// Every refusal leaves every table as it was (the audit log aside).
import { TRPCError } from "@trpc/server";
import { describe, expect, it } from "vitest";
import { can, LEVEL_BIT, type Level } from "../lib/permissions";
import { RESTRICTED_TEMPLATE_ATTRS, RESTRICTED_VNET_ATTRS } from "../lib/restricted";
import { hashSecret } from "../lib/secret";
import type { App } from "./app";
import { ALLOWED_PATHS } from "./auth";
import { authRequest, signIn as signInAuth } from "./auth.testing";
import { callerFor, fixtureUser, refusal, snapshot, testApp } from "./harness.testing";
import { appRouter, createCaller } from "./routers/root";
import { createUser } from "./services/users";
import { createContext } from "./trpc";

const ROLES = ["admin", "owner", "member", "other", "anonymous"] as const;
type Role = (typeof ROLES)[number];
type ObjectKind = "vnet" | "template" | "sg";

type Rule =
  | { kind: "public" | "user" | "admin" | "node" | "token" | "instanceOwner" | "tokenOwner" }
  | {
      kind: "object";
      object: ObjectKind;
      level: Level;
      adminRole?: boolean;
      also?: (role: Role) => boolean;
      /** Refusal code when the caller lacks the level (default NOT_FOUND / FORBIDDEN). */
      denied?: TRPCError["code"];
      /** Refusal code when the caller sees the object (USE) but lacks the level. */
      deniedVisible?: TRPCError["code"];
    }
  | { kind: "list"; object: ObjectKind; ids: (out: unknown) => number[] };

type Fx = Awaited<ReturnType<typeof build>>;
type Entry = { rule: Rule; input?: (fx: Fx) => unknown | Promise<unknown> };

const idsOf = (out: unknown) => (out as { id: number }[]).map((o) => o.id);

const MATRIX: Record<string, Entry> = {
  // user
  "user.me": { rule: { kind: "public" } },
  "user.whoami": { rule: { kind: "user" } },
  "dashboard.get": { rule: { kind: "user" } },
  "topology.get": { rule: { kind: "user" } },
  "user.list": { rule: { kind: "admin" } },
  "user.create": {
    rule: { kind: "admin" },
    input: () => ({ username: "newbie", name: "New", password: "password-password", groupId: 1 }),
  },
  "user.update": {
    rule: { kind: "admin" },
    input: (fx) => ({ id: fx.ids.other, name: "Other", role: "user", groupIds: [1], primaryGroupId: 1 }),
  },
  "user.setPassword": {
    rule: { kind: "admin" },
    input: async (fx) => ({ id: await fx.realUser(), password: "another-password-1" }),
  },
  "user.remove": { rule: { kind: "admin" }, input: (fx) => ({ id: fx.ids.other }) },
  "user.groups": { rule: { kind: "user" } },
  "user.clusters": { rule: { kind: "user" } },
  "user.ownershipChoices": { rule: { kind: "user" } },
  // groups, quotas, audit
  "group.list": { rule: { kind: "admin" } },
  "group.create": { rule: { kind: "admin" }, input: () => ({ name: "g-new" }) },
  "group.update": { rule: { kind: "admin" }, input: () => ({ id: 2, name: "team", description: "d" }) },
  "group.remove": { rule: { kind: "admin" }, input: (fx) => ({ id: fx.ids.emptyGroup }) },
  "quota.mine": { rule: { kind: "user" } },
  "quota.get": { rule: { kind: "admin" }, input: (fx) => ({ subjectType: "user", subjectId: fx.ids.owner }) },
  "quota.set": {
    rule: { kind: "admin" },
    input: (fx) => ({ subjectType: "user", subjectId: fx.ids.owner, maxVnets: 5, maxLeases: null }),
  },
  "audit.list": { rule: { kind: "admin" }, input: () => ({}) },
  // nodes and the agent channel
  "node.list": { rule: { kind: "admin" } },
  "node.backups": { rule: { kind: "admin" } },
  "node.certificate": { rule: { kind: "admin" } },
  // The certificate change of a portal behind a TLS proxy (no files, no openssl).
  "node.stageCertificate": {
    rule: { kind: "admin" },
    input: (fx) => {
      fx.app.tls.current = "A".repeat(43);
      return { kind: "proxy", proxy: "B".repeat(43) };
    },
  },
  "node.activateCertificate": {
    rule: { kind: "admin" },
    input: (fx) => {
      fx.app.tls.current = "A".repeat(43);
      fx.app.tls.next = "B".repeat(43);
      return { force: true };
    },
  },
  "node.discardCertificate": {
    rule: { kind: "admin" },
    input: (fx) => {
      fx.app.tls.current = "A".repeat(43);
      fx.app.tls.next = "B".repeat(43);
      return undefined;
    },
  },
  "node.choices": { rule: { kind: "user" } },
  "node.desired": { rule: { kind: "admin" }, input: (fx) => ({ id: fx.ids.node }) },
  "node.create": { rule: { kind: "admin" }, input: () => ({ name: "n-new" }) },
  "node.newToken": { rule: { kind: "admin" }, input: (fx) => ({ id: fx.ids.node2 }) },
  "node.revoke": { rule: { kind: "admin" }, input: (fx) => ({ id: fx.ids.node2 }) },
  "node.remove": { rule: { kind: "admin" }, input: (fx) => ({ id: fx.ids.node2 }) },
  "agent.join": { rule: { kind: "token" }, input: () => ({ token: "bhj_not-a-real-token" }) },
  "agent.watch": { rule: { kind: "node" }, input: (fx) => ({ nodeId: fx.ids.node }) },
  "agent.report": { rule: { kind: "node" }, input: () => ({}) },
  "agent.preview": { rule: { kind: "node" }, input: () => ({}) },
  "node.preview": { rule: { kind: "admin" }, input: (fx) => ({ id: fx.ids.node }) },
  "node.history": { rule: { kind: "admin" }, input: (fx) => ({ id: fx.ids.node }) },
  // instances
  "instance.list": { rule: { kind: "user" } },
  "instance.create": {
    rule: { kind: "object", object: "vnet", level: "use", denied: "BAD_REQUEST" },
    input: (fx) => ({ name: "i-new", nodeId: fx.ids.node, nics: [{ vnetId: fx.ids.vnet }] }),
  },
  "instance.get": { rule: { kind: "instanceOwner" }, input: (fx) => ({ id: fx.ids.instance }) },
  "instance.remove": { rule: { kind: "instanceOwner" }, input: (fx) => ({ id: fx.ids.instance }) },
  "instance.addNic": {
    rule: { kind: "instanceOwner" },
    input: (fx) => ({ instanceId: fx.ids.instance, nic: { vnetId: fx.ids.vnet } }),
  },
  "instance.updateNic": {
    rule: { kind: "instanceOwner" },
    input: (fx) => ({ nicId: fx.ids.nic, portKind: "tap" }),
  },
  "instance.removeNic": { rule: { kind: "instanceOwner" }, input: (fx) => ({ nicId: fx.ids.nic }) },
  "instance.seed": { rule: { kind: "instanceOwner" }, input: (fx) => ({ id: fx.ids.instance }) },
  "instance.rotateSeed": { rule: { kind: "instanceOwner" }, input: (fx) => ({ id: fx.ids.instance }) },
  // API tokens (managed from a session; the token block below shows tokens cannot)
  "token.list": { rule: { kind: "user" } },
  "token.listAll": { rule: { kind: "admin" } },
  "token.create": { rule: { kind: "user" }, input: () => ({ name: "t", expiresInDays: 7, readOnly: true }) },
  "token.revoke": { rule: { kind: "tokenOwner" }, input: (fx) => ({ id: fx.ids.ownerToken }) },
  // VNETs
  "vnet.list": { rule: { kind: "list", object: "vnet", ids: idsOf } },
  "vnet.mine": { rule: { kind: "user" } },
  "vnet.get": {
    rule: { kind: "object", object: "vnet", level: "use" },
    input: (fx) => ({ id: fx.ids.vnet }),
  },
  "vnet.underlay": {
    rule: { kind: "object", object: "vnet", level: "use" },
    input: (fx) => ({ id: fx.ids.vnet }),
  },
  "vnet.create": {
    rule: { kind: "admin" },
    input: () => ({ name: "v-new", subnet: "10.99.0.0/24", firstIp: "10.99.0.10", size: 5 }),
  },
  "vnet.remove": {
    rule: { kind: "object", object: "vnet", level: "manage" },
    input: (fx) => ({ id: fx.ids.vnet2 }),
  },
  "vnet.ownership": {
    rule: { kind: "object", object: "vnet", level: "use" },
    input: (fx) => ({ id: fx.ids.vnet }),
  },
  "vnet.chown": {
    rule: { kind: "object", object: "vnet", level: "admin", adminRole: true },
    input: (fx) => ({ id: fx.ids.vnet, userId: fx.ids.member }),
  },
  "vnet.chgrp": {
    rule: { kind: "object", object: "vnet", level: "admin", also: (r) => r !== "other" },
    input: (fx) => ({ id: fx.ids.vnet, groupId: 2 }),
  },
  "vnet.chmod": {
    rule: { kind: "object", object: "vnet", level: "admin" },
    input: (fx) => ({ id: fx.ids.vnet, perms: "644" }),
  },
  "vnet.lock": {
    rule: { kind: "object", object: "vnet", level: "manage" },
    input: (fx) => ({ id: fx.ids.vnet, level: "admin" }),
  },
  "vnet.unlock": {
    rule: { kind: "object", object: "vnet", level: "manage" },
    input: (fx) => ({ id: fx.ids.vnet }),
  },
  "vnet.rename": {
    rule: { kind: "object", object: "vnet", level: "manage" },
    input: (fx) => ({ id: fx.ids.vnet, name: "renamed" }),
  },
  "vnet.clone": {
    rule: { kind: "object", object: "vnet", level: "use" },
    input: (fx) => ({ id: fx.ids.vnet, name: "cloned" }),
  },
  "vnet.reserve": {
    rule: { kind: "object", object: "vnet", level: "use" },
    input: (fx) => ({ vnetId: fx.ids.vnet, name: "reserved", size: 2 }),
  },
  "vnet.setLabels": {
    rule: { kind: "object", object: "vnet", level: "manage" },
    input: (fx) => ({ id: fx.ids.vnet, labels: ["prod"] }),
  },
  // VNET configuration: MANAGE to change, USE to read; pools and Hoster import admin-only
  "vnet.update": {
    rule: { kind: "object", object: "vnet", level: "manage" },
    input: (fx) => ({ id: fx.ids.vnet, description: "changed" }),
  },
  "vnet.setContext": {
    rule: { kind: "object", object: "vnet", level: "manage" },
    input: (fx) => ({ id: fx.ids.vnet, context: {} }),
  },
  "vnet.setQos": {
    rule: { kind: "object", object: "vnet", level: "manage" },
    input: (fx) => ({ id: fx.ids.vnet, qos: {} }),
  },
  "vnet.setNicQos": {
    rule: { kind: "object", object: "vnet", level: "manage" },
    input: (fx) => ({ nicId: fx.ids.nic, qos: null }),
  },
  "vnet.setNicContext": {
    rule: { kind: "object", object: "vnet", level: "manage" },
    input: (fx) => ({ nicId: fx.ids.nic, context: null }),
  },
  "vnet.dhcp": {
    rule: { kind: "object", object: "vnet", level: "use" },
    input: (fx) => ({ id: fx.ids.vnet }),
  },
  "vnet.setDhcp": {
    rule: { kind: "object", object: "vnet", level: "manage" },
    input: (fx) => ({ id: fx.ids.vnet, leaseTime: "2h" }),
  },
  "vnet.nics": {
    rule: { kind: "object", object: "vnet", level: "use" },
    input: (fx) => ({ id: fx.ids.vnet }),
  },
  "vnet.pools": { rule: { kind: "user" } },
  "vnet.setPools": {
    rule: { kind: "admin" },
    input: () => ({ vlan: { from: 100, to: 200 }, vni: { from: 5000, to: 6000 } }),
  },
  // Export lists only the VNETs the caller may see; import creates networks (admins).
  "vnet.exportHoster": { rule: { kind: "user" }, input: () => ({}) },
  "vnet.importHoster": {
    rule: { kind: "admin" },
    input: () => ({
      json: JSON.stringify([
        {
          network_name: "hoster-net",
          network_gateway: "10.123.0.1",
          network_subnet: "10.123.0.0/24",
          network_range_start: "10.123.0.10",
          network_range_end: "10.123.0.20",
          bridge_interface: "None",
          apply_bridge_address: true,
          comment: "matrix",
        },
      ]),
    }),
  },
  "range.setContext": {
    rule: { kind: "object", object: "vnet", level: "manage" },
    input: (fx) => ({ id: fx.ids.range, context: {} }),
  },
  // address ranges and leases (MANAGE to change, USE to read)
  "range.add": {
    rule: { kind: "object", object: "vnet", level: "manage" },
    input: (fx) => ({ vnetId: fx.ids.vnet, range: { type: "ip4", ip: "10.7.0.100", size: 5 } }),
  },
  "range.resize": {
    rule: { kind: "object", object: "vnet", level: "manage" },
    input: (fx) => ({ id: fx.ids.range, size: 25 }),
  },
  "range.remove": {
    rule: { kind: "object", object: "vnet", level: "manage" },
    input: (fx) => ({ id: fx.ids.range2 }),
  },
  "lease.list": {
    rule: { kind: "object", object: "vnet", level: "use" },
    input: (fx) => ({ vnetId: fx.ids.vnet }),
  },
  "lease.history": {
    rule: { kind: "object", object: "vnet", level: "use" },
    input: (fx) => ({ vnetId: fx.ids.vnet }),
  },
  "lease.hold": {
    rule: { kind: "object", object: "vnet", level: "manage" },
    input: (fx) => ({ vnetId: fx.ids.vnet, from: "10.7.0.25", reason: "test" }),
  },
  "lease.release": {
    rule: { kind: "object", object: "vnet", level: "manage" },
    input: (fx) => ({ vnetId: fx.ids.vnet, from: "10.7.0.29" }),
  },
  // templates
  "template.list": { rule: { kind: "list", object: "template", ids: idsOf } },
  "template.get": {
    rule: { kind: "object", object: "template", level: "use" },
    input: (fx) => ({ id: fx.ids.template }),
  },
  "template.allocate": {
    rule: { kind: "admin" },
    input: (fx) => ({ name: "t-new", attrs: fx.templateAttrs }),
  },
  "template.update": {
    rule: { kind: "object", object: "template", level: "manage" },
    input: (fx) => ({ id: fx.ids.template, name: "tpl", description: "changed", attrs: fx.templateAttrs }),
  },
  "template.remove": {
    rule: { kind: "object", object: "template", level: "manage" },
    input: (fx) => ({ id: fx.ids.template }),
  },
  "template.clone": {
    rule: { kind: "object", object: "template", level: "use" },
    input: (fx) => ({ id: fx.ids.template, name: "t-clone" }),
  },
  "template.preview": {
    rule: { kind: "object", object: "template", level: "use" },
    input: (fx) => ({ templateId: fx.ids.template, name: "x", size: 4 }),
  },
  "template.instantiate": {
    rule: { kind: "object", object: "template", level: "use" },
    input: (fx) => ({ templateId: fx.ids.template, name: "from-tpl", size: 4 }),
  },
  "template.ownership": {
    rule: { kind: "object", object: "template", level: "use" },
    input: (fx) => ({ id: fx.ids.template }),
  },
  "template.chown": {
    rule: { kind: "object", object: "template", level: "admin", adminRole: true },
    input: (fx) => ({ id: fx.ids.template, userId: fx.ids.member }),
  },
  "template.chgrp": {
    rule: { kind: "object", object: "template", level: "admin", also: (r) => r !== "other" },
    input: (fx) => ({ id: fx.ids.template, groupId: 2 }),
  },
  "template.chmod": {
    rule: { kind: "object", object: "template", level: "admin" },
    input: (fx) => ({ id: fx.ids.template, perms: "644" }),
  },
  "template.lock": {
    rule: { kind: "object", object: "template", level: "manage" },
    input: (fx) => ({ id: fx.ids.template, level: "use" }),
  },
  "template.unlock": {
    rule: { kind: "object", object: "template", level: "manage" },
    input: (fx) => ({ id: fx.ids.template }),
  },
  "template.rename": {
    rule: { kind: "object", object: "template", level: "manage" },
    input: (fx) => ({ id: fx.ids.template, name: "t-renamed" }),
  },
  // security groups (security-groups.ts answers "may use but not change" with BAD_REQUEST)
  "sg.list": { rule: { kind: "list", object: "sg", ids: idsOf } },
  "sg.get": { rule: { kind: "object", object: "sg", level: "use" }, input: (fx) => ({ id: fx.ids.sg }) },
  "sg.create": { rule: { kind: "user" }, input: () => ({ name: "sg-new", rules: [] }) },
  "sg.update": {
    rule: { kind: "object", object: "sg", level: "manage", deniedVisible: "BAD_REQUEST" },
    input: (fx) => ({ id: fx.ids.sg, name: "sgx", description: "changed", rules: [] }),
  },
  "sg.remove": {
    rule: { kind: "object", object: "sg", level: "manage", deniedVisible: "BAD_REQUEST" },
    input: (fx) => ({ id: fx.ids.sg }),
  },
  "sg.commit": {
    rule: { kind: "object", object: "sg", level: "manage", deniedVisible: "BAD_REQUEST" },
    input: (fx) => ({ id: fx.ids.sg }),
  },
  "sg.setVnet": {
    rule: { kind: "object", object: "vnet", level: "manage" },
    input: (fx) => ({ vnetId: fx.ids.vnet, sgId: 0, attached: false }),
  },
  "sg.setNic": {
    rule: { kind: "object", object: "vnet", level: "manage" },
    input: (fx) => ({ nicId: fx.ids.nic, sgId: 0, attached: true }),
  },
  "sg.ofVnet": {
    rule: { kind: "object", object: "vnet", level: "use" },
    input: (fx) => ({ id: fx.ids.vnet }),
  },
  "sg.preview": {
    rule: { kind: "object", object: "vnet", level: "use" },
    input: (fx) => ({ nicId: fx.ids.nic }),
  },
  "sg.counters": { rule: { kind: "object", object: "sg", level: "use" }, input: (fx) => ({ id: fx.ids.sg }) },
  "sg.explain": {
    rule: { kind: "object", object: "vnet", level: "use" },
    input: (fx) => ({
      nicId: fx.ids.nic,
      direction: "INBOUND",
      remote: "10.0.0.1",
      protocol: "tcp",
      port: 22,
    }),
  },
  "sg.explainPath": {
    rule: { kind: "object", object: "vnet", level: "use" },
    input: (fx) => ({ fromNicId: fx.ids.nic, toAddress: "203.0.113.9", protocol: "tcp", port: 443 }),
  },
  "sg.ownership": {
    rule: { kind: "object", object: "sg", level: "use" },
    input: (fx) => ({ id: fx.ids.sg }),
  },
  "sg.chown": {
    rule: { kind: "object", object: "sg", level: "admin", adminRole: true },
    input: (fx) => ({ id: fx.ids.sg, userId: fx.ids.member }),
  },
  "sg.chgrp": {
    rule: { kind: "object", object: "sg", level: "admin", also: (r) => r !== "other" },
    input: (fx) => ({ id: fx.ids.sg, groupId: 2 }),
  },
  "sg.chmod": {
    rule: { kind: "object", object: "sg", level: "admin" },
    input: (fx) => ({ id: fx.ids.sg, perms: "644" }),
  },
  "sg.lock": {
    rule: { kind: "object", object: "sg", level: "manage" },
    input: (fx) => ({ id: fx.ids.sg, level: "use" }),
  },
  "sg.unlock": {
    rule: { kind: "object", object: "sg", level: "manage" },
    input: (fx) => ({ id: fx.ids.sg }),
  },
  "sg.rename": {
    rule: { kind: "object", object: "sg", level: "manage" },
    input: (fx) => ({ id: fx.ids.sg, name: "sg-renamed" }),
  },
  "sg.clone": {
    rule: { kind: "object", object: "sg", level: "use" },
    input: (fx) => ({ id: fx.ids.sg, name: "sg-clone" }),
  },
  // VNET peerings: both VNETs carry the same bits here, so MANAGE means MANAGE on both (create is
  // active at once); USE on both but MANAGE on neither is FORBIDDEN. The one-side cases
  // (proposed, accepted by the other side) are in server/routers/peering.test.ts.
  "peering.list": {
    rule: { kind: "object", object: "vnet", level: "use" },
    input: (fx) => ({ vnetId: fx.ids.vnet }),
  },
  "peering.create": {
    rule: { kind: "object", object: "vnet", level: "manage" },
    input: (fx) => ({ vnetA: fx.ids.vnet, vnetB: fx.ids.vnet2 }),
  },
  "peering.accept": {
    rule: { kind: "object", object: "vnet", level: "manage" },
    input: (fx) => ({ id: peeringOf(fx, "proposed") }),
  },
  "peering.remove": {
    rule: { kind: "object", object: "vnet", level: "manage" },
    input: (fx) => ({ id: peeringOf(fx, "active") }),
  },
};

/** The fixture's peering of its two VNETs in `state` (proposed from the second one), made once. */
function peeringOf(fx: Fx, state: "proposed" | "active"): number {
  const s = fx.app.db.$client;
  s.prepare(
    "INSERT OR IGNORE INTO vnet_peerings (vnet_a, vnet_b, state, proposed_from) VALUES (?, ?, ?, ?)",
  ).run(fx.ids.vnet, fx.ids.vnet2, state, fx.ids.vnet2);
  return (s.prepare("SELECT id FROM vnet_peerings").get() as { id: number }).id;
}

/** A fresh database: four users, a team group, two VNETs and a template owned by `owner` in team. */
async function build() {
  const app = testApp();
  const s = app.db.$client;
  s.prepare("INSERT INTO groups (id, name) VALUES (2, 'team'), (3, 'empty')").run();
  const admin = fixtureUser(app, "root", "admin", [0]);
  const owner = fixtureUser(app, "owner", "user", [2]);
  const member = fixtureUser(app, "member", "user", [2]);
  const other = fixtureUser(app, "other", "user", [1]);
  const a = admin.caller;
  const vnet = await a.vnet.create({ name: "obj", subnet: "10.7.0.0/24", firstIp: "10.7.0.10", size: 20 });
  const vnet2 = await a.vnet.create({ name: "obj2", subnet: "10.8.0.0/24", firstIp: "10.8.0.10", size: 5 });
  await a.range.add({ vnetId: vnet.id, range: { type: "ip4", ip: "10.7.0.200", size: 5 } });
  const ranges = s.prepare("SELECT id FROM address_ranges WHERE vnet_id = ? ORDER BY id").all(vnet.id) as {
    id: number;
  }[];
  await a.lease.hold({ vnetId: vnet.id, from: "10.7.0.29", reason: "kept" });
  const node = await a.node.create({ name: "n1" });
  const node2 = await a.node.create({ name: "n2" });
  // n2 is enrolled (it has a credential to revoke).
  await callerFor(app, null).agent.join({ token: node2.joinToken });
  const inst = await a.instance.create({ name: "i1", nodeId: node.id, nics: [{ vnetId: vnet.id }] });
  const sg = await a.sg.create({ name: "sgx", rules: [] });
  const nic = s.prepare("SELECT id FROM nics WHERE instance_id = ?").get(inst.id) as { id: number };
  const privateIpv4 = (await a.template.list())[0]!;
  const tpl = await a.template.clone({ id: privateIpv4.id, name: "tpl" });
  s.prepare("UPDATE vnets SET owner_id = ?, group_id = 2").run(owner.id);
  s.prepare("UPDATE vnet_templates SET owner_id = ?, group_id = 2 WHERE id = ?").run(owner.id, tpl.id);
  s.prepare("UPDATE vnet_templates SET perms = 0 WHERE id != ?").run(tpl.id);
  s.prepare("UPDATE instances SET owner_id = ?, group_id = 2").run(owner.id);
  s.prepare("UPDATE security_groups SET owner_id = ?, group_id = 2 WHERE id = ?").run(owner.id, sg.id);
  const tokens = mintTokens(app, { admin: admin.id, owner: owner.id, member: member.id, other: other.id });
  let real: string | null = null;
  return {
    app,
    callers: {
      admin: admin.caller,
      owner: owner.caller,
      member: member.caller,
      other: other.caller,
      anonymous: callerFor(app, null),
    } as Record<Role, ReturnType<typeof callerFor>>,
    subjects: {
      admin: { id: admin.id, role: "admin" as const, groupIds: [0] },
      owner: { id: owner.id, role: "user" as const, groupIds: [2] },
      member: { id: member.id, role: "user" as const, groupIds: [2] },
      other: { id: other.id, role: "user" as const, groupIds: [1] },
    },
    ids: {
      owner: owner.id,
      member: member.id,
      other: other.id,
      vnet: vnet.id,
      vnet2: vnet2.id,
      range: ranges[0]!.id,
      range2: ranges[1]!.id,
      node: node.id,
      node2: node2.id,
      instance: inst.id,
      template: tpl.id,
      sg: sg.id,
      nic: nic.id,
      emptyGroup: 3,
      ownerToken: tokens.ownerTokenId,
    },
    tokens: tokens.secrets,
    templateAttrs: privateIpv4.attrs,
    /** A user with a real password account (created once, on demand: hashing is slow). */
    realUser: async () => {
      if (!real)
        real = (
          await createUser(
            app,
            { userId: null, name: "test", ip: null },
            { username: "real", name: "Real", password: "password-password", role: "user", groupId: 1 },
          )
        ).id;
      return real;
    },
  };
}

/** A read-write and a read-only API token for each user, inserted directly (hash only, as the
 * service stores them). */
function mintTokens(app: App, users: Record<Exclude<Role, "anonymous">, string>) {
  const secrets = {} as Record<Exclude<Role, "anonymous">, { rw: string; ro: string }>;
  let ownerTokenId = 0;
  for (const [role, userId] of Object.entries(users) as [Exclude<Role, "anonymous">, string][]) {
    const pair = { rw: `bht_${role}-rw-${"x".repeat(30)}`, ro: `bht_${role}-ro-${"x".repeat(30)}` };
    for (const [kind, secret] of Object.entries(pair)) {
      const r = app.db.$client
        .prepare(
          "INSERT INTO api_tokens (user_id, name, prefix, token_hash, read_only) VALUES (?, ?, ?, ?, ?)",
        )
        .run(userId, `${role}-${kind}`, secret.slice(0, 10), hashSecret(secret), kind === "ro" ? 1 : 0);
      if (role === "owner" && kind === "rw") ownerTokenId = Number(r.lastInsertRowid);
    }
    secrets[role] = pair;
  }
  return { secrets, ownerTokenId };
}

function setPerms(app: App, object: ObjectKind, perms: number) {
  const table = { vnet: "vnets", template: "vnet_templates", sg: "security_groups" }[object];
  // The seeded objects (Private IPv4, the default security group) keep their own bits.
  const where = object === "vnet" ? "" : "WHERE owner_id != 'system'";
  app.db.$client.prepare(`UPDATE ${table} SET perms = ? ${where}`).run(perms);
}

/** The permission values a level is tried with: none, then its bit for owner, group, other. */
const permsFor = (level: Level) => [0, LEVEL_BIT[level] << 6, LEVEL_BIT[level] << 3, LEVEL_BIT[level]];

/** "query", "mutation" or "subscription". */
function typeOf(path: string): string {
  const procs = appRouter._def.procedures as unknown as Record<string, { _def: { type: string } }>;
  return procs[path]!._def.type;
}

async function call(fx: Fx, role: Role, path: string, input: unknown) {
  let fn: unknown = fx.callers[role];
  for (const k of path.split(".")) fn = (fn as Record<string, unknown>)[k];
  try {
    return { ok: true as const, out: await (fn as (i: unknown) => Promise<unknown>)(input) };
  } catch (e) {
    if (!(e instanceof TRPCError)) throw e;
    return { ok: false as const, code: e.code, message: e.message };
  }
}

describe("authorization matrix", () => {
  const procedures = Object.keys(appRouter._def.procedures).sort();

  it("has an entry for every procedure of the router (and none for procedures that are gone)", () => {
    expect(
      procedures.filter((p) => !(p in MATRIX)),
      "procedures without a matrix entry",
    ).toEqual([]);
    expect(
      Object.keys(MATRIX).filter((p) => !procedures.includes(p)),
      "entries without a procedure",
    ).toEqual([]);
  });

  it.each(procedures.filter((p) => p in MATRIX))(
    "%s follows its rule for every caller and permission bits",
    async (path) => {
      const { rule, input: mkInput } = MATRIX[path]!;
      const perObject = rule.kind === "object" || rule.kind === "list";
      const permsList = perObject ? permsFor(rule.kind === "object" ? rule.level : "use") : [0];
      let fx: Fx | null = null;
      let tokenOutcome: string | null = null;
      for (const perms of permsList) {
        for (const role of ROLES) {
          if (!fx) fx = await build();
          if (perObject) setPerms(fx.app, rule.object, perms);
          const input = mkInput ? await mkInput(fx) : undefined;
          const before = snapshot(fx.app);
          const res = await call(fx, role, path, input);
          const label = `${path} as ${role} with perms ${perms.toString(8).padStart(3, "0")}: ${res.ok ? "ok" : `${res.code} ${res.message}`}`;
          const signedIn = role !== "anonymous";
          const subject = signedIn ? fx.subjects[role] : null;
          const obj =
            perObject && subject
              ? { ownerId: fx.ids.owner, groupId: 2, perms }
              : { ownerId: fx.ids.owner, groupId: 2, perms: 0 };
          let expectOk: boolean;
          let allowedCodes: TRPCError["code"][] = [];
          switch (rule.kind) {
            case "public":
              expectOk = true;
              break;
            case "user":
              expectOk = signedIn;
              allowedCodes = ["UNAUTHORIZED"];
              break;
            case "admin":
              expectOk = role === "admin";
              allowedCodes = [signedIn ? "FORBIDDEN" : "UNAUTHORIZED"];
              break;
            case "node":
              expectOk = false;
              allowedCodes = ["UNAUTHORIZED"];
              break;
            case "token":
              expectOk = false;
              allowedCodes = res.ok ? [] : [res.code];
              tokenOutcome ??= res.ok ? "ok" : res.code;
              expect(res.ok ? "ok" : res.code, `${label} (same refusal for everyone)`).toBe(tokenOutcome);
              break;
            case "instanceOwner":
            case "tokenOwner":
              expectOk = role === "admin" || role === "owner";
              allowedCodes = [signedIn ? "NOT_FOUND" : "UNAUTHORIZED"];
              break;
            case "list": {
              expectOk = signedIn;
              allowedCodes = ["UNAUTHORIZED"];
              if (res.ok && subject) {
                const id = { vnet: fx.ids.vnet, template: fx.ids.template, sg: fx.ids.sg }[rule.object];
                expect(rule.ids(res.out).includes(id), `${label} lists the object`).toBe(
                  can(subject, obj, "use"),
                );
              }
              break;
            }
            case "object": {
              if (!subject) {
                expectOk = false;
                allowedCodes = ["UNAUTHORIZED"];
                break;
              }
              const holds = can(subject, obj, rule.level) && (rule.also?.(role) ?? true);
              expectOk = (rule.adminRole ? role === "admin" : holds) || role === "admin";
              // Without USE nor the level itself the object is invisible: NOT_FOUND.
              const visible = can(subject, obj, "use") || can(subject, obj, rule.level);
              allowedCodes = !visible
                ? [rule.denied ?? "NOT_FOUND"]
                : [rule.deniedVisible ?? rule.denied ?? "FORBIDDEN", "NOT_FOUND"];
              break;
            }
          }
          if (expectOk) expect(res.ok, label).toBe(true);
          else {
            expect(res.ok, label).toBe(false);
            if (!res.ok) expect(allowedCodes, label).toContain(res.code);
            expect(snapshot(fx.app), `${label} changed nothing`).toEqual(before);
          }
          // A successful mutation changed the fixture: the next caller starts from a fresh one.
          if (res.ok && typeOf(path) === "mutation") fx = null;
        }
      }
    },
  );
});

// ---------------------------------------------------------------------------------------------
// API tokens: a call with `Authorization: Bearer <token>` (through the real context builder) has
// the very outcome of the same call from the token user's session, for every procedure; a
// read-only token gets the same answers to queries and FORBIDDEN on every mutation, nothing
// written. Token management itself is session-only: any token is FORBIDDEN there. One fixture
// per procedure, the permission level's group bit set (member holds it, other does not).
// ---------------------------------------------------------------------------------------------
describe("authorization matrix: API tokens act exactly as their user's session", () => {
  const procedures = Object.keys(MATRIX)
    .filter((p) => typeOf(p) !== "subscription")
    .sort();
  const TOKEN_ROLES = ["admin", "owner", "member", "other"] as const;

  async function viaToken(fx: Fx, secret: string, path: string, input: unknown) {
    const caller = createCaller(
      await createContext(fx.app, new Headers({ authorization: `Bearer ${secret}` })),
    );
    const before = snapshot(fx.app);
    let fn: unknown = caller;
    for (const k of path.split(".")) fn = (fn as Record<string, unknown>)[k];
    try {
      return { before, ok: true as const, out: await (fn as (i: unknown) => Promise<unknown>)(input) };
    } catch (e) {
      if (!(e instanceof TRPCError)) throw e;
      return { before, ok: false as const, code: e.code, message: e.message };
    }
  }
  const outcome = (r: { ok: boolean; code?: string }) => (r.ok ? "ok" : r.code);

  it.each(procedures)(
    "%s: a token's outcome is its user's session outcome; read-only refuses mutations",
    async (path) => {
      const { rule, input: mkInput } = MATRIX[path]!;
      const mutation = typeOf(path) === "mutation";
      const perms =
        rule.kind === "object"
          ? LEVEL_BIT[rule.level] << 3
          : rule.kind === "list"
            ? LEVEL_BIT.use << 3
            : null;
      let fx: Fx | null = null;
      const fresh = async () => {
        const f = await build();
        if (perms !== null && (rule.kind === "object" || rule.kind === "list"))
          setPerms(f.app, rule.object, perms);
        return f;
      };
      for (const role of TOKEN_ROLES) {
        fx ??= await fresh();
        const session = await call(fx, role, path, mkInput ? await mkInput(fx) : undefined);
        if (session.ok && mutation) fx = await fresh();
        const rw = await viaToken(fx, fx.tokens[role].rw, path, mkInput ? await mkInput(fx) : undefined);
        const label = `${path} as ${role}: session ${outcome(session)}, token ${outcome(rw)} ${rw.ok ? "" : rw.message}`;
        if (path.startsWith("token.")) {
          expect(outcome(rw), label).toBe("FORBIDDEN");
        } else if (path.startsWith("agent.")) {
          // The agent channel takes node credentials only: a user's token is no credential there.
          expect(outcome(rw), label).toBe(outcome(session));
        } else {
          expect(outcome(rw), label).toBe(outcome(session));
          if (rw.ok && !mutation) expect(rw.out, `${label}: same answer`).toEqual(session.out);
        }
        if (!rw.ok) expect(snapshot(fx.app), `${label} changed nothing`).toEqual(rw.before);
        if (rw.ok && mutation) fx = await fresh();
        const ro = await viaToken(fx, fx.tokens[role].ro, path, mkInput ? await mkInput(fx) : undefined);
        const roLabel = `${path} as ${role} read-only: ${outcome(ro)} ${ro.ok ? "" : ro.message}`;
        if (mutation || path.startsWith("token.")) {
          expect(outcome(ro), roLabel).toBe("FORBIDDEN");
          expect(snapshot(fx.app), `${roLabel} changed nothing`).toEqual(ro.before);
        } else expect(outcome(ro), roLabel).toBe(outcome(session));
      }
    },
  );
});

// ---------------------------------------------------------------------------------------------
// Restricted VNET attributes: cloud admins only, whatever the permission bits.
// A non-admin who owns the object *and* holds every bit on it (777) tries each restricted
// attribute on every procedure that writes it: FORBIDDEN naming the attribute at its field,
// nothing written. A cloud admin making the same call succeeds and the value lands. The list of
// procedures is checked against the router: any procedure whose input carries a restricted
// attribute and has no row here fails the first test.
// ---------------------------------------------------------------------------------------------
type RFx = Awaited<ReturnType<typeof buildRestricted>>;
type Try = {
  /** The attribute the refusal must name (and the field it lands at). */
  attr: string;
  /** Puts the object in a state where `attr` means something (e.g. a vlan VNET for vlanId). */
  prepare?: (fx: RFx) => void;
  input: (fx: RFx) => unknown;
  /** The field the refusal lands at, when not `attr` itself. */
  field?: string;
  /** What an admin's call wrote, read back from the database. */
  landed: (fx: RFx) => unknown;
  expected: unknown;
};
type Writer = { tries: Try[]; roleOnly?: boolean };

const vnetCol = (fx: RFx, col: string, where = `id = ${fx.vnetId}`) =>
  (
    fx.app.db.$client.prepare(`SELECT ${col} AS v FROM vnets WHERE ${where}`).get() as
      | { v: unknown }
      | undefined
  )?.v;
const tplAttr = (fx: RFx, k: string) =>
  (
    JSON.parse(
      (
        fx.app.db.$client.prepare("SELECT attrs FROM vnet_templates WHERE id = ?").get(fx.templateId) as {
          attrs: string;
        }
      ).attrs,
    ) as Record<string, unknown>
  )[k];
const sql = (fx: RFx, q: string) => fx.app.db.$client.prepare(q).run();

/** One VNET try per attribute, on a procedure taking VNET attributes beside `base`. */
function vnetTries(base: (fx: RFx) => Record<string, unknown>, where: (fx: RFx) => string): Try[] {
  const row = (col: string) => (fx: RFx) => vnetCol(fx, col, where(fx));
  return [
    {
      attr: "driver",
      input: (fx) => ({ ...base(fx), driver: "vxlan", vni: 4242 }),
      landed: row("driver"),
      expected: "vxlan",
    },
    {
      attr: "networkType",
      input: (fx) => ({ ...base(fx), networkType: "external" }),
      landed: row("network_type"),
      expected: "external",
    },
    {
      attr: "phydev",
      input: (fx) => ({ ...base(fx), phydev: "eth0" }),
      landed: row("phydev"),
      expected: "eth0",
    },
    {
      attr: "vlanId",
      prepare: (fx) =>
        sql(fx, `UPDATE vnets SET driver = 'vlan', phydev = 'eth1', vlan_id = 5 WHERE id = ${fx.vnetId}`),
      input: (fx) => ({ ...base(fx), vlanId: 7 }),
      landed: row("vlan_id"),
      expected: 7,
    },
    {
      attr: "vni",
      prepare: (fx) => sql(fx, `UPDATE vnets SET driver = 'vxlan', vni = 100 WHERE id = ${fx.vnetId}`),
      input: (fx) => ({ ...base(fx), vni: 200 }),
      landed: row("vni"),
      expected: 200,
    },
    {
      attr: "bridge",
      input: (fx) => ({ ...base(fx), bridge: "br-eth0" }),
      landed: row("bridge"),
      expected: "br-eth0",
    },
    { attr: "mtu", input: (fx) => ({ ...base(fx), mtu: 9000 }), landed: row("mtu"), expected: 9000 },
  ];
}

const tplBase = (fx: RFx) => ({ id: fx.templateId, name: "tpl", description: "", attrs: fx.templateAttrs });
const tplTry = (attr: string, attrs: Record<string, unknown>, expected: unknown): Try => ({
  attr,
  field: `attrs.${attr}`,
  input: (fx) => ({ ...tplBase(fx), attrs: { ...fx.templateAttrs, ...attrs } }),
  landed: (fx) => tplAttr(fx, attr),
  expected,
});

const RESTRICTED_WRITERS: Record<string, Writer> = {
  "vnet.update": {
    tries: vnetTries(
      (fx) => ({ id: fx.vnetId }),
      (fx) => `id = ${fx.vnetId}`,
    ),
  },
  "vnet.clone": {
    tries: vnetTries(
      (fx) => ({ id: fx.vnetId, name: "copy" }),
      () => "name = 'copy'",
    ).filter(
      // A clone's VLAN ID / VNI come from its template's pool (its own unit tests cover that).
      (t) => !["vlanId", "vni"].includes(t.attr),
    ),
  },
  "template.instantiate": {
    tries: vnetTries(
      (fx) => ({ templateId: fx.templateId, name: "from-tpl", size: 4 }),
      () => "name = 'from-tpl'",
    ).filter((t) => !["vlanId", "vni"].includes(t.attr)),
  },
  "template.update": {
    tries: [
      tplTry("driver", { driver: "vxlan", vniPool: { from: 10, to: 20 } }, "vxlan"),
      tplTry("networkType", { networkType: "external" }, "external"),
      tplTry("phydev", { phydev: "eth0" }, "eth0"),
      tplTry("vlanPool", { vlanPool: { from: 10, to: 20 } }, { from: 10, to: 20 }),
      tplTry("vniPool", { vniPool: { from: 10, to: 20 } }, { from: 10, to: 20 }),
      tplTry("mtu", { mtu: 9000 }, 9000),
    ],
  },
  // Cloud-admin procedures as a whole: the router refuses everybody else before any attribute.
  "vnet.setPools": {
    roleOnly: true,
    tries: [
      {
        attr: "vni",
        input: () => ({ vlan: null, vni: { from: 100, to: 200 } }),
        landed: (fx) =>
          (
            fx.app.db.$client.prepare("SELECT count(*) AS n FROM settings WHERE key = 'pool.vni'").get() as {
              n: number;
            }
          ).n,
        expected: 1,
      },
    ],
  },
  "vnet.create": {
    roleOnly: true,
    tries: [
      {
        attr: "networkType",
        input: () => ({
          name: "v-ext",
          subnet: "10.99.0.0/24",
          firstIp: "10.99.0.10",
          size: 5,
          networkType: "external",
          phydev: "eth0",
        }),
        landed: (fx) => vnetCol(fx, "phydev", "name = 'v-ext'"),
        expected: "eth0",
      },
    ],
  },
  "vnet.importHoster": {
    roleOnly: true,
    tries: [
      {
        attr: "phydev",
        input: () => ({
          json: JSON.stringify([
            {
              network_name: "h-ext",
              network_gateway: "10.98.0.1",
              network_subnet: "10.98.0.0/24",
              network_range_start: "10.98.0.10",
              network_range_end: "10.98.0.20",
              bridge_interface: "eth0",
              apply_bridge_address: false,
              comment: "",
            },
          ]),
        }),
        landed: (fx) => vnetCol(fx, "phydev", "name = 'h-ext'"),
        expected: "eth0",
      },
    ],
  },
  "template.allocate": {
    roleOnly: true,
    tries: [
      {
        attr: "phydev",
        input: (fx) => ({
          name: "t-vlan",
          attrs: { ...fx.templateAttrs, driver: "vlan", phydev: "eth0", vlanPool: { from: 1, to: 9 } },
        }),
        landed: (fx) =>
          (
            fx.app.db.$client
              .prepare("SELECT count(*) AS n FROM vnet_templates WHERE name = 't-vlan'")
              .get() as { n: number }
          ).n,
        expected: 1,
      },
    ],
  },
};

/** A VNET and a template owned by a non-admin who holds every permission bit on both. */
async function buildRestricted() {
  const app = testApp();
  const admin = fixtureUser(app, "root", "admin", [0]);
  const owner = fixtureUser(app, "owner", "user", [1]);
  const a = admin.caller;
  const v = await a.vnet.create({ name: "tenant", subnet: "10.7.0.0/24", firstIp: "10.7.0.10", size: 20 });
  const privateIpv4 = (await a.template.list())[0]!;
  const tpl = await a.template.clone({ id: privateIpv4.id, name: "tpl" });
  sql({ app } as RFx, `UPDATE vnets SET owner_id = '${owner.id}', perms = ${0o777} WHERE id = ${v.id}`);
  sql(
    { app } as RFx,
    `UPDATE vnet_templates SET owner_id = '${owner.id}', perms = ${0o777} WHERE id = ${tpl.id}`,
  );
  return {
    app,
    admin: a,
    owner: owner.caller,
    vnetId: v.id,
    templateId: tpl.id,
    templateAttrs: privateIpv4.attrs,
  };
}

/** Keys of every object a zod schema can hold, recursively (objects, wrappers, unions, arrays). */
function schemaKeys(schema: unknown, out = new Set<string>()): Set<string> {
  const def = (schema as { _zod?: { def?: Record<string, unknown> } })?._zod?.def;
  if (!def) return out;
  if (def.type === "object")
    for (const [k, s] of Object.entries(def.shape as Record<string, unknown>)) {
      out.add(k);
      schemaKeys(s, out);
    }
  for (const inner of [def.innerType, def.in, def.out, def.element]) if (inner) schemaKeys(inner, out);
  for (const o of (def.options as unknown[] | undefined) ?? []) schemaKeys(o, out);
  return out;
}

async function callAs(caller: unknown, path: string, input: unknown) {
  let fn: unknown = caller;
  for (const k of path.split(".")) fn = (fn as Record<string, unknown>)[k];
  return (fn as (i: unknown) => Promise<unknown>)(input);
}

describe("restricted VNET attributes: cloud admins only, on every procedure that writes them", () => {
  const restricted = new Set([
    ...Object.keys(RESTRICTED_VNET_ATTRS),
    ...Object.keys(RESTRICTED_TEMPLATE_ATTRS),
  ]);
  const procs = appRouter._def.procedures as unknown as Record<
    string,
    { _def: { type: string; inputs: unknown[] } }
  >;

  /** Mutations whose inputs carry a key named like a restricted attribute that is not one. */
  const notVnetWriters: Record<string, string> = {
    "agent.report": "underlayMtu[].mtu is the path MTU a node measured to a peer, not a VNET's MTU",
  };

  it("covers every mutation whose input carries a restricted attribute", () => {
    const writers = Object.entries(procs)
      .filter(([path, p]) => p._def.type === "mutation" && !(path in notVnetWriters))
      .filter(([, p]) => p._def.inputs.some((s) => [...schemaKeys(s)].some((k) => restricted.has(k))))
      .map(([path]) => path);
    expect(
      writers.filter((p) => !(p in RESTRICTED_WRITERS)),
      "writers without a row",
    ).toEqual([]);
  });

  const cases = Object.entries(RESTRICTED_WRITERS).flatMap(([path, w]) =>
    w.tries.map((t) => [path, t.attr, w.roleOnly ?? false, t] as const),
  );
  it.each(cases)(
    "%s: a non-admin owner setting %s is refused, a cloud admin is not",
    async (path, attr, roleOnly, t) => {
      const fx = await buildRestricted();
      t.prepare?.(fx);
      const before = snapshot(fx.app);
      const err = await refusal(
        callAs(fx.owner, path, t.input(fx)),
        "FORBIDDEN",
        roleOnly ? undefined : (t.field ?? attr),
      );
      if (!roleOnly) {
        expect(err.message).toMatch(/^Only cloud admins may (change|set) the /);
        expect(err.message).toContain(`(${attr})`);
      }
      expect(snapshot(fx.app), "the refusal wrote nothing").toEqual(before);
      await callAs(fx.admin, path, t.input(fx));
      expect(t.landed(fx)).toEqual(t.expected);
    },
  );

  it("a non-admin may pass the values the template or source already has (nothing to change)", async () => {
    const fx = await buildRestricted();
    await fx.owner.vnet.update({
      id: fx.vnetId,
      driver: "bridge",
      networkType: "internal",
      mtu: 1500,
      bridge: "",
    });
    await fx.owner.vnet.clone({ id: fx.vnetId, name: "copy", networkType: "internal", mtu: 1500 });
    await fx.owner.template.instantiate({
      templateId: fx.templateId,
      name: "from-tpl",
      size: 4,
      driver: "bridge",
      networkType: "internal",
    });
    expect(vnetCol(fx, "network_type", "name = 'from-tpl'")).toBe("internal");
  });
});

// ---------------------------------------------------------------------------
// /api/auth/* (better-auth over HTTP): the portal serves only ALLOWED_PATHS; every other endpoint
// better-auth or its plugins define (set-role, set-user-password, ban, remove-user, impersonate,
// list/revoke sessions, …) answers 404 to every caller, changes nothing and is audited as refused.
// The list is taken from the auth instance itself, so an endpoint a better-auth upgrade adds is
// covered without anyone remembering it.
// ---------------------------------------------------------------------------
describe("authorization matrix: /api/auth endpoints", () => {
  const AUTH_ROLES = ["admin", "user", "anonymous"] as const;

  async function authFixture() {
    const app = testApp();
    const ids: Record<string, string> = {};
    for (const [name, role] of [
      ["boss", "admin"],
      ["alice", "user"],
    ] as const)
      ids[name] = (
        await createUser(
          app,
          { userId: null, name: "test", ip: null },
          { username: name, name, password: "password-password", role, groupId: 1 },
        )
      ).id;
    const cookies = {
      admin: await signInAuth(app, "boss", "password-password"),
      user: await signInAuth(app, "alice", "password-password"),
      anonymous: "",
    };
    return { app, ids, cookies };
  }

  const withSessions = (app: App) => ({
    ...snapshot(app),
    session: app.db.$client.prepare("SELECT id, user_id, impersonated_by FROM session ORDER BY rowid").all(),
  });

  const endpointPaths = (app: App) =>
    [
      ...new Set(
        Object.values(app.auth.api as Record<string, { path?: string }>)
          .map((e) => e.path)
          .filter((p): p is string => typeof p === "string" && !p.startsWith("/:")),
      ),
    ].sort();

  it("every better-auth endpoint is either served on purpose or refused", async () => {
    const app = testApp();
    const paths = endpointPaths(app);
    for (const p of ALLOWED_PATHS) expect(paths, `${p} exists`).toContain(p);
    // The admin endpoints that would change roles, passwords or sessions behind the audit must be
    // among the refused.
    for (const p of [
      "/admin/set-role",
      "/admin/set-user-password",
      "/admin/ban-user",
      "/admin/remove-user",
      "/admin/impersonate-user",
      "/admin/list-user-sessions",
      "/admin/revoke-user-session",
      "/list-sessions",
      "/revoke-session",
    ])
      expect(
        paths.filter((x) => !ALLOWED_PATHS.has(x)),
        p,
      ).toContain(p);
  });

  it("every endpoint the portal does not use answers 404 to admin, user and anonymous, changes nothing, is audited", async () => {
    const fx = await authFixture();
    const refused = endpointPaths(fx.app).filter((p) => !ALLOWED_PATHS.has(p));
    // A body that would do harm if the endpoint ran: make alice admin, ban her, take her password.
    const body = {
      userId: fx.ids.alice,
      role: "admin",
      newPassword: "attacker-password-1",
      password: "attacker-password-1",
      sessionToken: "x",
      email: "x@example.com",
      username: "alice",
    };
    for (const path of refused.map((p) => p.replace(/:(\w+)/g, "$1")))
      for (const role of AUTH_ROLES) {
        const before = withSessions(fx.app);
        const auditsBefore = fx.app.db.$client.prepare("SELECT count(*) AS n FROM audit_log").get() as {
          n: number;
        };
        for (const method of ["POST", "GET"] as const) {
          const res = await authRequest(fx.app, path, { method, cookie: fx.cookies[role], body });
          expect(res.status, `${method} ${path} as ${role}`).toBe(404);
        }
        expect(withSessions(fx.app), `${path} as ${role} changed nothing`).toEqual(before);
        const last = fx.app.db.$client
          .prepare("SELECT actor, action, outcome, object_name FROM audit_log WHERE id > ? ORDER BY id")
          .all(auditsBefore.n) as { actor: string; action: string; outcome: string; object_name: string }[];
        expect(last[0], `${path} as ${role} audited`).toEqual({
          actor: role === "admin" ? "boss" : role === "user" ? "alice" : "anonymous",
          action: "auth.disabled",
          outcome: "refused",
          object_name: path,
        });
      }
  });

  it("the served endpoints follow their rule: sign-in and get-session public, change-password and sign-out need a session", async () => {
    const fx = await authFixture();
    const status = async (
      path: string,
      role: (typeof AUTH_ROLES)[number],
      body: unknown,
      method: "GET" | "POST" = "POST",
    ) => (await authRequest(fx.app, path, { method, cookie: fx.cookies[role], body })).status;
    expect(await status("/get-session", "anonymous", undefined, "GET")).toBe(200);
    expect(await status("/ok", "anonymous", undefined, "GET")).toBe(200);
    const before = withSessions(fx.app);
    expect(
      await status("/change-password", "anonymous", {
        currentPassword: "password-password",
        newPassword: "a-new-password-1",
      }),
    ).toBe(401);
    expect(withSessions(fx.app), "anonymous change-password changed nothing").toEqual(before);
    // A user changes only their own password: the session decides whose, never the body.
    expect(
      await status("/change-password", "user", {
        userId: fx.ids.boss,
        currentPassword: "password-password",
        newPassword: "a-new-password-1",
      }),
    ).toBe(200);
    await signInAuth(fx.app, "boss", "password-password");
    await signInAuth(fx.app, "alice", "a-new-password-1");
  });
});
