CREATE TABLE `account` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`provider_id` text NOT NULL,
	`user_id` text NOT NULL,
	`access_token` text,
	`refresh_token` text,
	`id_token` text,
	`access_token_expires_at` integer,
	`refresh_token_expires_at` integer,
	`scope` text,
	`password` text,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`updated_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `user`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `account_user_idx` ON `account` (`user_id`);--> statement-breakpoint
CREATE TABLE `address_ranges` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`vnet_id` integer NOT NULL,
	`type` text NOT NULL,
	`ip` text,
	`ip_start` integer,
	`prefix_length` integer,
	`size` integer NOT NULL,
	`mac` text,
	`global_prefix` text,
	`ula_prefix` text,
	`ip6` text,
	`prefix_length6` integer,
	`context` text DEFAULT '{}' NOT NULL,
	`free_hint` integer DEFAULT 0 NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`vnet_id`) REFERENCES `vnets`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `ar_vnet_idx` ON `address_ranges` (`vnet_id`);--> statement-breakpoint
CREATE TABLE `audit_log` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`user_id` text,
	`actor` text NOT NULL,
	`action` text NOT NULL,
	`object_type` text,
	`object_id` text,
	`object_name` text,
	`outcome` text NOT NULL,
	`detail` text,
	`source_ip` text
);
--> statement-breakpoint
CREATE INDEX `audit_at_idx` ON `audit_log` (`created_at`);--> statement-breakpoint
CREATE INDEX `audit_object_idx` ON `audit_log` (`object_type`,`object_id`);--> statement-breakpoint
CREATE TABLE `clusters` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `clusters_name_unique` ON `clusters` (`name`);--> statement-breakpoint
CREATE TABLE `counters` (
	`name` text PRIMARY KEY NOT NULL,
	`value` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE `groups` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `groups_name_unique` ON `groups` (`name`);--> statement-breakpoint
CREATE TABLE `instances` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`owner_id` text NOT NULL,
	`group_id` integer NOT NULL,
	`node_id` integer NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`owner_id`) REFERENCES `user`(`id`) ON UPDATE no action ON DELETE restrict,
	FOREIGN KEY (`group_id`) REFERENCES `groups`(`id`) ON UPDATE no action ON DELETE restrict,
	FOREIGN KEY (`node_id`) REFERENCES `nodes`(`id`) ON UPDATE no action ON DELETE restrict
);
--> statement-breakpoint
CREATE UNIQUE INDEX `instances_name_unique` ON `instances` (`name`);--> statement-breakpoint
CREATE INDEX `instances_node_idx` ON `instances` (`node_id`);--> statement-breakpoint
CREATE TABLE `lease_history` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`vnet_id` integer NOT NULL,
	`ip` text,
	`ip6` text,
	`mac` text,
	`action` text NOT NULL,
	`nic_id` integer,
	`instance_id` integer,
	`user_id` text,
	`reason` text,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL
);
--> statement-breakpoint
CREATE INDEX `lease_history_vnet_ip_idx` ON `lease_history` (`vnet_id`,`ip`);--> statement-breakpoint
CREATE INDEX `lease_history_mac_idx` ON `lease_history` (`vnet_id`,`mac`);--> statement-breakpoint
CREATE TABLE `leases` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`vnet_id` integer NOT NULL,
	`ar_id` integer NOT NULL,
	`offset` integer NOT NULL,
	`ip` text,
	`ip_int` integer,
	`ip6` text,
	`ip6_ula` text,
	`mac` text NOT NULL,
	`state` text NOT NULL,
	`nic_id` integer,
	`reason` text,
	`expires_at` integer,
	`created_by` text,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`vnet_id`) REFERENCES `vnets`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`ar_id`) REFERENCES `address_ranges`(`id`) ON UPDATE no action ON DELETE restrict
);
--> statement-breakpoint
CREATE UNIQUE INDEX `leases_vnet_ip_uq` ON `leases` (`vnet_id`,`ip_int`);--> statement-breakpoint
CREATE UNIQUE INDEX `leases_vnet_ip6_uq` ON `leases` (`vnet_id`,`ip6`);--> statement-breakpoint
CREATE UNIQUE INDEX `leases_vnet_mac_uq` ON `leases` (`vnet_id`,`mac`);--> statement-breakpoint
CREATE UNIQUE INDEX `leases_nic_uq` ON `leases` (`nic_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `leases_ar_offset_uq` ON `leases` (`ar_id`,`offset`);--> statement-breakpoint
CREATE INDEX `leases_state_expiry_idx` ON `leases` (`vnet_id`,`state`,`expires_at`);--> statement-breakpoint
CREATE TABLE `nics` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`instance_id` integer NOT NULL,
	`idx` integer NOT NULL,
	`vnet_id` integer NOT NULL,
	`qos` text,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`instance_id`) REFERENCES `instances`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`vnet_id`) REFERENCES `vnets`(`id`) ON UPDATE no action ON DELETE restrict
);
--> statement-breakpoint
CREATE UNIQUE INDEX `nics_instance_idx_uq` ON `nics` (`instance_id`,`idx`);--> statement-breakpoint
CREATE INDEX `nics_vnet_idx` ON `nics` (`vnet_id`);--> statement-breakpoint
CREATE TABLE `nodes` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`cluster_id` integer NOT NULL,
	`vtep_address` text,
	`uplink` text,
	`join_token_hash` text,
	`join_token_expires_at` integer,
	`credential_hash` text,
	`enrolled_at` integer,
	`revoked_at` integer,
	`desired_revision` integer DEFAULT 0 NOT NULL,
	`applied_revision` integer DEFAULT 0 NOT NULL,
	`last_seen_at` integer,
	`last_error` text,
	`agent_version` text,
	`hostname` text,
	`report` text,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`cluster_id`) REFERENCES `clusters`(`id`) ON UPDATE no action ON DELETE restrict
);
--> statement-breakpoint
CREATE UNIQUE INDEX `nodes_name_unique` ON `nodes` (`name`);--> statement-breakpoint
CREATE UNIQUE INDEX `nodes_join_token_hash_unique` ON `nodes` (`join_token_hash`);--> statement-breakpoint
CREATE UNIQUE INDEX `nodes_credential_hash_unique` ON `nodes` (`credential_hash`);--> statement-breakpoint
CREATE INDEX `nodes_cluster_idx` ON `nodes` (`cluster_id`);--> statement-breakpoint
CREATE TABLE `security_groups` (
	`id` integer PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`owner_id` text NOT NULL,
	`group_id` integer NOT NULL,
	`perms` integer DEFAULT 384 NOT NULL,
	`lock_level` text,
	`revision` integer DEFAULT 0 NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`updated_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`owner_id`) REFERENCES `user`(`id`) ON UPDATE no action ON DELETE restrict,
	FOREIGN KEY (`group_id`) REFERENCES `groups`(`id`) ON UPDATE no action ON DELETE restrict
);
--> statement-breakpoint
CREATE UNIQUE INDEX `security_groups_name_unique` ON `security_groups` (`name`);--> statement-breakpoint
CREATE TABLE `session` (
	`id` text PRIMARY KEY NOT NULL,
	`expires_at` integer NOT NULL,
	`token` text NOT NULL,
	`ip_address` text,
	`user_agent` text,
	`impersonated_by` text,
	`user_id` text NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`updated_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `user`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `session_token_unique` ON `session` (`token`);--> statement-breakpoint
CREATE INDEX `session_user_idx` ON `session` (`user_id`);--> statement-breakpoint
CREATE TABLE `settings` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `sg_rules` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`sg_id` integer NOT NULL,
	`position` integer NOT NULL,
	`protocol` text NOT NULL,
	`direction` text NOT NULL,
	`ip` text,
	`size` integer,
	`range` text,
	`icmp_type` integer,
	`network_id` integer,
	FOREIGN KEY (`sg_id`) REFERENCES `security_groups`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `sg_rules_sg_idx` ON `sg_rules` (`sg_id`);--> statement-breakpoint
CREATE TABLE `user` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`email` text NOT NULL,
	`email_verified` integer DEFAULT false NOT NULL,
	`image` text,
	`username` text,
	`display_username` text,
	`role` text DEFAULT 'user' NOT NULL,
	`banned` integer DEFAULT false,
	`ban_reason` text,
	`ban_expires` integer,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`updated_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `user_email_unique` ON `user` (`email`);--> statement-breakpoint
CREATE UNIQUE INDEX `user_username_unique` ON `user` (`username`);--> statement-breakpoint
CREATE TABLE `user_groups` (
	`user_id` text NOT NULL,
	`group_id` integer NOT NULL,
	`primary` integer DEFAULT false NOT NULL,
	PRIMARY KEY(`user_id`, `group_id`),
	FOREIGN KEY (`user_id`) REFERENCES `user`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`group_id`) REFERENCES `groups`(`id`) ON UPDATE no action ON DELETE restrict
);
--> statement-breakpoint
CREATE TABLE `verification` (
	`id` text PRIMARY KEY NOT NULL,
	`identifier` text NOT NULL,
	`value` text NOT NULL,
	`expires_at` integer NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`updated_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL
);
--> statement-breakpoint
CREATE TABLE `vnet_clusters` (
	`vnet_id` integer NOT NULL,
	`cluster_id` integer NOT NULL,
	PRIMARY KEY(`vnet_id`, `cluster_id`),
	FOREIGN KEY (`vnet_id`) REFERENCES `vnets`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`cluster_id`) REFERENCES `clusters`(`id`) ON UPDATE no action ON DELETE restrict
);
--> statement-breakpoint
CREATE TABLE `vnet_security_groups` (
	`vnet_id` integer NOT NULL,
	`sg_id` integer NOT NULL,
	PRIMARY KEY(`vnet_id`, `sg_id`),
	FOREIGN KEY (`vnet_id`) REFERENCES `vnets`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`sg_id`) REFERENCES `security_groups`(`id`) ON UPDATE no action ON DELETE restrict
);
--> statement-breakpoint
CREATE TABLE `vnet_templates` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`owner_id` text NOT NULL,
	`group_id` integer NOT NULL,
	`perms` integer DEFAULT 384 NOT NULL,
	`lock_level` text,
	`attrs` text NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`updated_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`owner_id`) REFERENCES `user`(`id`) ON UPDATE no action ON DELETE restrict,
	FOREIGN KEY (`group_id`) REFERENCES `groups`(`id`) ON UPDATE no action ON DELETE restrict
);
--> statement-breakpoint
CREATE UNIQUE INDEX `vnet_templates_name_unique` ON `vnet_templates` (`name`);--> statement-breakpoint
CREATE TABLE `vnets` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`owner_id` text NOT NULL,
	`group_id` integer NOT NULL,
	`perms` integer DEFAULT 384 NOT NULL,
	`lock_level` text,
	`driver` text DEFAULT 'bridge' NOT NULL,
	`network_type` text DEFAULT 'internal' NOT NULL,
	`bridge` text NOT NULL,
	`phydev` text,
	`vlan_id` integer,
	`vni` integer,
	`mtu` integer DEFAULT 1500 NOT NULL,
	`apply_bridge_address` integer DEFAULT true NOT NULL,
	`anti_spoofing` integer DEFAULT true NOT NULL,
	`context` text DEFAULT '{}' NOT NULL,
	`qos` text DEFAULT '{}' NOT NULL,
	`template_id` integer,
	`parent_vnet_id` integer,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`updated_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`owner_id`) REFERENCES `user`(`id`) ON UPDATE no action ON DELETE restrict,
	FOREIGN KEY (`group_id`) REFERENCES `groups`(`id`) ON UPDATE no action ON DELETE restrict
);
--> statement-breakpoint
CREATE UNIQUE INDEX `vnets_name_unique` ON `vnets` (`name`);--> statement-breakpoint
CREATE UNIQUE INDEX `vnets_bridge_unique` ON `vnets` (`bridge`);--> statement-breakpoint
CREATE UNIQUE INDEX `vnets_vni_unique` ON `vnets` (`vni`);--> statement-breakpoint
CREATE INDEX `vnets_owner_idx` ON `vnets` (`owner_id`);