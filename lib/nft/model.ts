// The typed nftables model the renderer builds and the agent compares the kernel against: plain
// data and constants only, so the renderer and the security-group compiler both depend on it and
// never on each other's types.

/** The one table name per family; namespaced so no other tool's tables are ever touched. */
export const NFT_TABLE = "bridgehead";
export const NFT_FAMILIES = ["bridge", "inet"] as const;
export type NftFamily = (typeof NFT_FAMILIES)[number];

export interface NftSet {
  name: string;
  /** Why the set exists (rendered as a comment above it). */
  why: string;
  /** `type ...` or `typeof ...` and flags, without the trailing `;`. */
  decl: string;
  elements: string[];
}

export interface NftChain {
  name: string;
  why: string;
  /** e.g. `type filter hook prerouting priority -300; policy accept;` for base chains. */
  hook?: string;
  /** One nft rule per entry (the observed rule count is compared with this length). */
  rules: string[];
}

export interface NftTable {
  family: NftFamily;
  why: string;
  /** Named counters (security-group rules). */
  counters: string[];
  sets: NftSet[];
  chains: NftChain[];
}

/** What a correctly loaded table looks like: chains with their rule counts, sets with their
 * element counts. Observed tables are compared with this (agent/dataplane/nft/apply.ts). */
export interface NftShape {
  chains: Record<string, number>;
  sets: Record<string, number>;
}

export interface NftRender {
  /** The whole transaction: delete-and-recreate of each table (or only delete when not needed). */
  script: string;
  /** Per family: the table's content (model), digest and expected shape, or null when the table
   * must not exist. */
  tables: Record<NftFamily, { digest: string; shape: NftShape; model: NftTable } | null>;
  /** Kernel settings these tables rely on ("key=value"): forwarding for NAT, br_netfilter's
   * hand-over of bridged traffic to the inet hooks for security groups. */
  sysctls: string[];
  /** NICs that need security groups but got no mark slot (over 65,535 on one node). */
  unfiltered: number[];
}

/** A chain whose name carries the digest of its table's content: what was loaded is readable from
 * `nft -j list table` without keeping any state on the agent (and it survives agent restarts). */
export const DIGEST_CHAIN_PREFIX = "digest_";

/** Named counter values by counter name (security-group rules), as the kernel counted them. */
export type NftCounters = Record<string, { packets: number; bytes: number }>;
