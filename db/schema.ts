// The database schema: one source of truth for every object Bridgehead manages.
// Enum tuples live in lib/domain.ts so the columns, the zod schemas and the UI share them.
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import {
  AR_TYPES,
  AUDIT_OUTCOMES,
  type ContextAttrs,
  DRIVERS,
  LEASE_ACTIONS,
  LEASE_STATES,
  LOCK_LEVELS,
  NETWORK_TYPES,
  type NodeReport,
  PEERING_STATES,
  PORT_KINDS,
  type Qos,
  QUOTA_SUBJECTS,
  SG_DIRECTIONS,
  SG_PROTOCOLS,
  USER_ROLES,
} from "../lib/domain";
import type { TemplateAttrs } from "../lib/templates";

const now = sql`(unixepoch('subsec') * 1000)`;
const createdAt = () => integer("created_at", { mode: "timestamp_ms" }).notNull().default(now);
const updatedAt = () =>
  integer("updated_at", { mode: "timestamp_ms" })
    .notNull()
    .default(now)
    .$onUpdate(() => new Date());

// ---------------------------------------------------------------------------
// 1. Accounts (tables managed by better-auth; column names follow its defaults)
// ---------------------------------------------------------------------------
export const user = sqliteTable("user", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  email: text("email").notNull().unique(),
  emailVerified: integer("email_verified", { mode: "boolean" }).notNull().default(false),
  image: text("image"),
  username: text("username").unique(),
  displayUsername: text("display_username"),
  role: text("role", { enum: USER_ROLES }).notNull().default("user"),
  banned: integer("banned", { mode: "boolean" }).default(false),
  banReason: text("ban_reason"),
  banExpires: integer("ban_expires", { mode: "timestamp_ms" }),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

export const session = sqliteTable(
  "session",
  {
    id: text("id").primaryKey(),
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
    token: text("token").notNull().unique(),
    ipAddress: text("ip_address"),
    userAgent: text("user_agent"),
    impersonatedBy: text("impersonated_by"),
    userId: text("user_id")
      .notNull()
      .references(() => user.id, { onDelete: "cascade" }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index("session_user_idx").on(t.userId)],
);

export const account = sqliteTable(
  "account",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull(),
    providerId: text("provider_id").notNull(),
    userId: text("user_id")
      .notNull()
      .references(() => user.id, { onDelete: "cascade" }),
    accessToken: text("access_token"),
    refreshToken: text("refresh_token"),
    idToken: text("id_token"),
    accessTokenExpiresAt: integer("access_token_expires_at", { mode: "timestamp_ms" }),
    refreshTokenExpiresAt: integer("refresh_token_expires_at", { mode: "timestamp_ms" }),
    scope: text("scope"),
    password: text("password"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index("account_user_idx").on(t.userId)],
);

export const verification = sqliteTable("verification", {
  id: text("id").primaryKey(),
  identifier: text("identifier").notNull(),
  value: text("value").notNull(),
  expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

// ---------------------------------------------------------------------------
// 2. Groups (OpenNebula-style: every user has a primary group, may be in more)
// ---------------------------------------------------------------------------
export const groups = sqliteTable("groups", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  name: text("name").notNull().unique(),
  description: text("description").notNull().default(""),
  createdAt: createdAt(),
});

export const userGroups = sqliteTable(
  "user_groups",
  {
    userId: text("user_id")
      .notNull()
      .references(() => user.id, { onDelete: "cascade" }),
    groupId: integer("group_id")
      .notNull()
      .references(() => groups.id, { onDelete: "restrict" }),
    primary: integer("primary", { mode: "boolean" }).notNull().default(false),
  },
  (t) => [primaryKey({ columns: [t.userId, t.groupId] })],
);

// Ownership columns shared by every permissioned object: owner, group, and 9 permission bits
// (owner/group/other × USE/MANAGE/ADMIN, packed like OpenNebula's octal: 0o640 = u:UM g:U o:-).
const ownership = () => ({
  ownerId: text("owner_id")
    .notNull()
    .references(() => user.id, { onDelete: "restrict" }),
  groupId: integer("group_id")
    .notNull()
    .references(() => groups.id, { onDelete: "restrict" }),
  perms: integer("perms").notNull().default(0o600),
  lockLevel: text("lock_level", { enum: LOCK_LEVELS }),
});

// ---------------------------------------------------------------------------
// 3. Infrastructure: clusters and nodes
// ---------------------------------------------------------------------------
export const clusters = sqliteTable("clusters", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  name: text("name").notNull().unique(),
  createdAt: createdAt(),
});

export const nodes = sqliteTable(
  "nodes",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    name: text("name").notNull().unique(),
    clusterId: integer("cluster_id")
      .notNull()
      .references(() => clusters.id, { onDelete: "restrict" }),
    // Underlay address used as the local VXLAN tunnel endpoint (VTEP); null until known.
    vtepAddress: text("vtep_address"),
    // Uplink device for NAT / external networks, as the node reported it.
    uplink: text("uplink"),
    // One-time join token (sha256 hex), cleared when used. Never stored in clear.
    joinTokenHash: text("join_token_hash").unique(),
    joinTokenExpiresAt: integer("join_token_expires_at", { mode: "timestamp_ms" }),
    // Per-node agent credential (sha256 hex of a 256-bit random secret). Null: not enrolled or revoked.
    credentialHash: text("credential_hash").unique(),
    enrolledAt: integer("enrolled_at", { mode: "timestamp_ms" }),
    revokedAt: integer("revoked_at", { mode: "timestamp_ms" }),
    // desiredRevision: bumped by every change that affects this node. appliedRevision: what the agent reported.
    desiredRevision: integer("desired_revision").notNull().default(0),
    appliedRevision: integer("applied_revision").notNull().default(0),
    lastSeenAt: integer("last_seen_at", { mode: "timestamp_ms" }),
    lastError: text("last_error"),
    agentVersion: text("agent_version"),
    hostname: text("hostname"),
    report: text("report", { mode: "json" }).$type<NodeReport>(),
    createdAt: createdAt(),
  },
  (t) => [index("nodes_cluster_idx").on(t.clusterId)],
);

// Admin settings as typed JSON values by key (e.g. the VLAN and VNI pools).
export const settings = sqliteTable("settings", {
  key: text("key").primaryKey(),
  value: text("value", { mode: "json" }).notNull(),
});

// A single-row-per-name counter table; "revision" is the global, monotonically increasing revision.
export const counters = sqliteTable("counters", {
  name: text("name").primaryKey(),
  value: integer("value").notNull().default(0),
});

// ---------------------------------------------------------------------------
// 4. Virtual networks, address ranges, leases
// ---------------------------------------------------------------------------
export const vnets = sqliteTable(
  "vnets",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    name: text("name").notNull().unique(),
    description: text("description").notNull().default(""),
    ...ownership(),
    driver: text("driver", { enum: DRIVERS }).notNull().default("bridge"),
    networkType: text("network_type", { enum: NETWORK_TYPES }).notNull().default("internal"),
    bridge: text("bridge").notNull().unique(),
    phydev: text("phydev"),
    vlanId: integer("vlan_id"),
    vni: integer("vni").unique(),
    mtu: integer("mtu").notNull().default(1500),
    applyBridgeAddress: integer("apply_bridge_address", { mode: "boolean" }).notNull().default(true),
    antiSpoofing: integer("anti_spoofing", { mode: "boolean" }).notNull().default(true),
    // DHCP and DNS served by the nodes (one dnsmasq per VNET per node); null: by network type
    // (internal on, external off: the outer LAN may run its own server).
    dhcpEnabled: integer("dhcp_enabled", { mode: "boolean" }),
    // Guests are named <instance>.<dnsDomain>; null: <vnet name>.internal.
    dnsDomain: text("dns_domain"),
    // DHCP lease time in seconds; null: the agent's default (one hour).
    dhcpLeaseSeconds: integer("dhcp_lease_seconds"),
    // Resolvers the VNET's DNS server forwards to; empty: each node's own (its /etc/resolv.conf).
    dnsUpstreams: text("dns_upstreams", { mode: "json" }).$type<string[]>().notNull().default([]),
    context: text("context", { mode: "json" }).$type<ContextAttrs>().notNull().default({}),
    qos: text("qos", { mode: "json" }).$type<Qos>().notNull().default({}),
    templateId: integer("template_id"),
    // Free-form labels used by automatic network selection ("any VNET labelled prod").
    labels: text("labels", { mode: "json" }).$type<string[]>().notNull().default([]),
    // Reservations (issue: self-service): a VNET carved out of a parent's addresses.
    parentVnetId: integer("parent_vnet_id"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index("vnets_owner_idx").on(t.ownerId)],
);

export const vnetClusters = sqliteTable(
  "vnet_clusters",
  {
    vnetId: integer("vnet_id")
      .notNull()
      .references(() => vnets.id, { onDelete: "cascade" }),
    clusterId: integer("cluster_id")
      .notNull()
      .references(() => clusters.id, { onDelete: "restrict" }),
  },
  (t) => [primaryKey({ columns: [t.vnetId, t.clusterId] })],
);

export const addressRanges = sqliteTable(
  "address_ranges",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    vnetId: integer("vnet_id")
      .notNull()
      .references(() => vnets.id, { onDelete: "cascade" }),
    type: text("type", { enum: AR_TYPES }).notNull(),
    // IPv4: first address and its integer value (for ordering and overlap checks), prefix of the subnet.
    ip: text("ip"),
    ipStart: integer("ip_start"),
    prefixLength: integer("prefix_length"),
    size: integer("size").notNull(),
    mac: text("mac"),
    // IPv6 (later issue): SLAAC prefixes or the first static address.
    globalPrefix: text("global_prefix"),
    ulaPrefix: text("ula_prefix"),
    ip6: text("ip6"),
    prefixLength6: integer("prefix_length6"),
    context: text("context", { mode: "json" }).$type<ContextAttrs>().notNull().default({}),
    // Every offset below freeHint has a lease: lowest-free allocation starts here (O(log n)).
    freeHint: integer("free_hint").notNull().default(0),
    createdAt: createdAt(),
  },
  (t) => [index("ar_vnet_idx").on(t.vnetId)],
);

export const leases = sqliteTable(
  "leases",
  {
    // A plain rowid (no AUTOINCREMENT): lease ids never leave the server, and AUTOINCREMENT's
    // sqlite_sequence row was one more page written by every allocation.
    id: integer("id").primaryKey(),
    vnetId: integer("vnet_id")
      .notNull()
      .references(() => vnets.id, { onDelete: "cascade" }),
    arId: integer("ar_id")
      .notNull()
      .references(() => addressRanges.id, { onDelete: "restrict" }),
    // Position of the lease inside its range: the range's math gives IPv4, IPv6 and MAC from it.
    offset: integer("offset").notNull(),
    ip: text("ip"),
    ipInt: integer("ip_int"),
    ip6: text("ip6"),
    ip6Ula: text("ip6_ula"),
    mac: text("mac").notNull(),
    state: text("state", { enum: LEASE_STATES }).notNull(),
    nicId: integer("nic_id"),
    reason: text("reason"),
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }),
    createdBy: text("created_by"),
    createdAt: createdAt(),
  },
  // The database, not the application, guarantees that no address or MAC is handed out twice.
  (t) => [
    // Partial where a column may be empty: an IPv4-only lease then costs no IPv6 index entry, a
    // hold no NIC entry (fewer pages written per allocation; NULLs never collide anyway).
    uniqueIndex("leases_vnet_ip_uq").on(t.vnetId, t.ipInt).where(sql`${t.ipInt} IS NOT NULL`),
    uniqueIndex("leases_vnet_ip6_uq").on(t.vnetId, t.ip6).where(sql`${t.ip6} IS NOT NULL`),
    uniqueIndex("leases_vnet_mac_uq").on(t.vnetId, t.mac),
    uniqueIndex("leases_nic_uq").on(t.nicId).where(sql`${t.nicId} IS NOT NULL`),
    uniqueIndex("leases_ar_offset_uq").on(t.arId, t.offset),
    // Finds expired holds without scanning the VNET's leases (checked before every allocation).
    index("leases_state_expiry_idx").on(t.vnetId, t.expiresAt).where(sql`${t.expiresAt} IS NOT NULL`),
  ],
);

export const leaseHistory = sqliteTable(
  "lease_history",
  {
    // Rows are only appended, so rowids keep increasing without AUTOINCREMENT (see leases.id).
    id: integer("id").primaryKey(),
    vnetId: integer("vnet_id").notNull(),
    ip: text("ip"),
    ip6: text("ip6"),
    mac: text("mac"),
    action: text("action", { enum: LEASE_ACTIONS }).notNull(),
    nicId: integer("nic_id"),
    instanceId: integer("instance_id"),
    // Kept by value: "who had this address last Tuesday" must survive the instance's deletion.
    instanceName: text("instance_name"),
    userId: text("user_id"),
    reason: text("reason"),
    at: createdAt(),
  },
  (t) => [
    index("lease_history_vnet_ip_idx").on(t.vnetId, t.ip),
    index("lease_history_mac_idx").on(t.vnetId, t.mac),
    index("lease_history_ip6_idx").on(t.vnetId, t.ip6).where(sql`${t.ip6} IS NOT NULL`),
    // A VNET's history newest first without sorting all of it (rows are written when a lease
    // ends, so a lease's "allocate" row comes after events that happened later).
    index("lease_history_vnet_at_idx").on(t.vnetId, t.at),
  ],
);

// ---------------------------------------------------------------------------
// 5. Security groups
// ---------------------------------------------------------------------------
export const securityGroups = sqliteTable("security_groups", {
  id: integer("id").primaryKey(),
  name: text("name").notNull().unique(),
  description: text("description").notNull().default(""),
  ...ownership(),
  revision: integer("revision").notNull().default(0),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

export const sgRules = sqliteTable(
  "sg_rules",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    sgId: integer("sg_id")
      .notNull()
      .references(() => securityGroups.id, { onDelete: "cascade" }),
    position: integer("position").notNull(),
    protocol: text("protocol", { enum: SG_PROTOCOLS }).notNull(),
    direction: text("direction", { enum: SG_DIRECTIONS }).notNull(),
    ip: text("ip"),
    size: integer("size"),
    range: text("range"),
    icmpType: integer("icmp_type"),
    networkId: integer("network_id"),
  },
  (t) => [index("sg_rules_sg_idx").on(t.sgId)],
);

export const vnetSecurityGroups = sqliteTable(
  "vnet_security_groups",
  {
    vnetId: integer("vnet_id")
      .notNull()
      .references(() => vnets.id, { onDelete: "cascade" }),
    sgId: integer("sg_id")
      .notNull()
      .references(() => securityGroups.id, { onDelete: "restrict" }),
  },
  (t) => [primaryKey({ columns: [t.vnetId, t.sgId] })],
);

/** A peering between two VNETs: without one, a node routes nothing between them. Stored with
 * vnet_a < vnet_b so a pair exists once; `proposed` until the manager of the other side accepts. */
export const vnetPeerings = sqliteTable(
  "vnet_peerings",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    vnetA: integer("vnet_a")
      .notNull()
      .references(() => vnets.id, { onDelete: "cascade" }),
    vnetB: integer("vnet_b")
      .notNull()
      .references(() => vnets.id, { onDelete: "cascade" }),
    state: text("state", { enum: PEERING_STATES }).notNull(),
    proposedBy: text("proposed_by").references(() => user.id, { onDelete: "set null" }),
    /** The VNET whose manager proposed it: the other side accepts. */
    proposedFrom: integer("proposed_from").notNull(),
    acceptedBy: text("accepted_by").references(() => user.id, { onDelete: "set null" }),
    acceptedAt: integer("accepted_at", { mode: "timestamp_ms" }),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("vnet_peerings_pair_idx").on(t.vnetA, t.vnetB),
    index("vnet_peerings_b_idx").on(t.vnetB),
  ],
);

/** A rule's counter on one node, as its agent last reported it. The kernel counts since the rule was
 * first loaded on that node (the agent carries counts over its own table reloads); a reported value
 * below the stored one means the kernel's counter restarted (node reboot, table deleted by hand),
 * so the stored value moves into `base*` first: base + last is the node's total since the rule
 * existed. A rule's total is the sum over its nodes. */
export const sgRuleCounters = sqliteTable(
  "sg_rule_counters",
  {
    ruleId: integer("rule_id")
      .notNull()
      .references(() => sgRules.id, { onDelete: "cascade" }),
    nodeId: integer("node_id")
      .notNull()
      .references(() => nodes.id, { onDelete: "cascade" }),
    packets: integer("packets").notNull(),
    bytes: integer("bytes").notNull(),
    basePackets: integer("base_packets").notNull().default(0),
    baseBytes: integer("base_bytes").notNull().default(0),
    /** How often the node's counter was seen to restart. */
    resets: integer("resets").notNull().default(0),
    updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.ruleId, t.nodeId] }), index("sg_rule_counters_node_idx").on(t.nodeId)],
);

/** A security group attached to one NIC only (besides those of its VNET). */
export const nicSecurityGroups = sqliteTable(
  "nic_security_groups",
  {
    nicId: integer("nic_id")
      .notNull()
      .references(() => nics.id, { onDelete: "cascade" }),
    sgId: integer("sg_id")
      .notNull()
      .references(() => securityGroups.id, { onDelete: "restrict" }),
  },
  (t) => [primaryKey({ columns: [t.nicId, t.sgId] }), index("nic_sg_sg_idx").on(t.sgId)],
);

// ---------------------------------------------------------------------------
// 6. VNET templates (self-service)
// ---------------------------------------------------------------------------
export const vnetTemplates = sqliteTable("vnet_templates", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  name: text("name").notNull().unique(),
  description: text("description").notNull().default(""),
  ...ownership(),
  attrs: text("attrs", { mode: "json" }).$type<TemplateAttrs>().notNull(),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

// Optional per-user and per-group limits (null: unlimited). Usage is counted live, never stored.
export const quotas = sqliteTable(
  "quotas",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    subjectType: text("subject_type", { enum: QUOTA_SUBJECTS }).notNull(),
    subjectId: text("subject_id").notNull(),
    maxVnets: integer("max_vnets"),
    maxLeases: integer("max_leases"),
  },
  (t) => [uniqueIndex("quotas_subject_uq").on(t.subjectType, t.subjectId)],
);

// ---------------------------------------------------------------------------
// 7. Instances (VMs / containers) and their NICs
// ---------------------------------------------------------------------------
export const instances = sqliteTable(
  "instances",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    name: text("name").notNull().unique(),
    ownerId: text("owner_id")
      .notNull()
      .references(() => user.id, { onDelete: "restrict" }),
    groupId: integer("group_id")
      .notNull()
      .references(() => groups.id, { onDelete: "restrict" }),
    nodeId: integer("node_id")
      .notNull()
      .references(() => nodes.id, { onDelete: "restrict" }),
    // Left from an earlier design (a random secret shown once, stored as its hash); never
    // written. Seed URL secrets are now derived: HMAC(server seed key, id + seed_generation).
    seedSecretHash: text("seed_secret_hash").unique(),
    // Bumped to rotate the instance's seed URL secret: every older URL stops answering.
    seedGeneration: integer("seed_generation").notNull().default(0),
    createdAt: createdAt(),
  },
  (t) => [index("instances_node_idx").on(t.nodeId)],
);

export const nics = sqliteTable(
  "nics",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    instanceId: integer("instance_id")
      .notNull()
      .references(() => instances.id, { onDelete: "cascade" }),
    // Position of the NIC in the guest: 0 → eth0.
    idx: integer("idx").notNull(),
    vnetId: integer("vnet_id")
      .notNull()
      .references(() => vnets.id, { onDelete: "restrict" }),
    qos: text("qos", { mode: "json" }).$type<Qos>(),
    // guest: the agent creates a lab namespace and veth; tap: the hypervisor creates the device
    // (lib/wire.ts tapDeviceName) and the agent plugs it when it appears.
    portKind: text("port_kind", { enum: PORT_KINDS }).notNull().default("guest"),
    // Per-NIC context overrides: resolved NIC > address range > VNET.
    context: text("context", { mode: "json" }).$type<ContextAttrs>(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("nics_instance_idx_uq").on(t.instanceId, t.idx), index("nics_vnet_idx").on(t.vnetId)],
);

// ---------------------------------------------------------------------------
// 8. Audit log: one entry per mutation, refused ones included
// ---------------------------------------------------------------------------
export const auditLog = sqliteTable(
  "audit_log",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    at: createdAt(),
    userId: text("user_id"),
    actor: text("actor").notNull(),
    action: text("action").notNull(),
    objectType: text("object_type"),
    objectId: text("object_id"),
    objectName: text("object_name"),
    outcome: text("outcome", { enum: AUDIT_OUTCOMES }).notNull(),
    detail: text("detail"),
    sourceIp: text("source_ip"),
    /** How the actor authenticated when not by a session, e.g. `token:ci (#3)`. */
    via: text("via"),
  },
  (t) => [index("audit_at_idx").on(t.at), index("audit_object_idx").on(t.objectType, t.objectId)],
);

/** Failed sign-ins, one row each, for the per-account and per-address limits (server/sign-in-limit.ts).
 * In the database so a restart does not reset the count an attacker has used up. */
export const signInFailures = sqliteTable(
  "sign_in_failures",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    kind: text("kind", { enum: ["account", "address"] }).notNull(),
    key: text("key").notNull(),
    at: integer("at", { mode: "timestamp_ms" }).notNull(),
  },
  (t) => [index("sign_in_failures_key_idx").on(t.kind, t.key, t.at)],
);

// ---------------------------------------------------------------------------
// 9. API tokens: personal bearer tokens for scripts (stored only as a sha256 hash)
// ---------------------------------------------------------------------------
export const apiTokens = sqliteTable(
  "api_tokens",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    userId: text("user_id")
      .notNull()
      .references(() => user.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    /** The first characters of the token, shown in lists so its owner can tell tokens apart. */
    prefix: text("prefix").notNull(),
    tokenHash: text("token_hash").notNull().unique(),
    readOnly: integer("read_only", { mode: "boolean" }).notNull(),
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }),
    lastUsedAt: integer("last_used_at", { mode: "timestamp_ms" }),
    revokedAt: integer("revoked_at", { mode: "timestamp_ms" }),
    createdAt: createdAt(),
  },
  (t) => [index("api_tokens_user_idx").on(t.userId)],
);

/** The kinds of entry a node's apply history holds. */
export const NODE_APPLY_KINDS = ["apply", "repair", "error"] as const;

/** A node's recent applies, drift repairs and failed applies, as its agent reported them (the last
 * NODE_APPLY_HISTORY per node are kept; older ones are deleted with each new entry). A failed apply
 * repeated with the same error is one entry whose `repeats` grows, so a stuck node keeps its
 * history. */
export const nodeApplies = sqliteTable(
  "node_applies",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    nodeId: integer("node_id")
      .notNull()
      .references(() => nodes.id, { onDelete: "cascade" }),
    at: integer("at", { mode: "timestamp_ms" }).notNull(),
    kind: text("kind", { enum: NODE_APPLY_KINDS }).notNull(),
    revision: integer("revision").notNull(),
    operations: integer("operations").notNull(),
    durationMs: real("duration_ms").notNull(),
    ops: text("ops", { mode: "json" }).$type<string[]>().notNull(),
    error: text("error"),
    repeats: integer("repeats").notNull().default(1),
  },
  (t) => [index("node_applies_node_idx").on(t.nodeId, t.id)],
);
