PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_lease_history` (
	`id` integer PRIMARY KEY NOT NULL,
	`vnet_id` integer NOT NULL,
	`ip` text,
	`ip6` text,
	`mac` text,
	`action` text NOT NULL,
	`nic_id` integer,
	`instance_id` integer,
	`instance_name` text,
	`user_id` text,
	`reason` text,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL
);
--> statement-breakpoint
INSERT INTO `__new_lease_history`("id", "vnet_id", "ip", "ip6", "mac", "action", "nic_id", "instance_id", "instance_name", "user_id", "reason", "created_at") SELECT "id", "vnet_id", "ip", "ip6", "mac", "action", "nic_id", "instance_id", "instance_name", "user_id", "reason", "created_at" FROM `lease_history`;--> statement-breakpoint
DROP TABLE `lease_history`;--> statement-breakpoint
ALTER TABLE `__new_lease_history` RENAME TO `lease_history`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE INDEX `lease_history_vnet_ip_idx` ON `lease_history` (`vnet_id`,`ip`);--> statement-breakpoint
CREATE INDEX `lease_history_mac_idx` ON `lease_history` (`vnet_id`,`mac`);--> statement-breakpoint
CREATE INDEX `lease_history_ip6_idx` ON `lease_history` (`vnet_id`,`ip6`) WHERE "lease_history"."ip6" IS NOT NULL;--> statement-breakpoint
CREATE TABLE `__new_leases` (
	`id` integer PRIMARY KEY NOT NULL,
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
INSERT INTO `__new_leases`("id", "vnet_id", "ar_id", "offset", "ip", "ip_int", "ip6", "ip6_ula", "mac", "state", "nic_id", "reason", "expires_at", "created_by", "created_at") SELECT "id", "vnet_id", "ar_id", "offset", "ip", "ip_int", "ip6", "ip6_ula", "mac", "state", "nic_id", "reason", "expires_at", "created_by", "created_at" FROM `leases`;--> statement-breakpoint
DROP TABLE `leases`;--> statement-breakpoint
ALTER TABLE `__new_leases` RENAME TO `leases`;--> statement-breakpoint
CREATE UNIQUE INDEX `leases_vnet_ip_uq` ON `leases` (`vnet_id`,`ip_int`) WHERE "leases"."ip_int" IS NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX `leases_vnet_ip6_uq` ON `leases` (`vnet_id`,`ip6`) WHERE "leases"."ip6" IS NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX `leases_vnet_mac_uq` ON `leases` (`vnet_id`,`mac`);--> statement-breakpoint
CREATE UNIQUE INDEX `leases_nic_uq` ON `leases` (`nic_id`) WHERE "leases"."nic_id" IS NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX `leases_ar_offset_uq` ON `leases` (`ar_id`,`offset`);--> statement-breakpoint
CREATE INDEX `leases_state_expiry_idx` ON `leases` (`vnet_id`,`expires_at`) WHERE "leases"."expires_at" IS NOT NULL;