DROP INDEX `leases_vnet_ip_uq`;--> statement-breakpoint
DROP INDEX `leases_vnet_ip6_uq`;--> statement-breakpoint
DROP INDEX `leases_nic_uq`;--> statement-breakpoint
DROP INDEX `leases_state_expiry_idx`;--> statement-breakpoint
CREATE UNIQUE INDEX `leases_vnet_ip_uq` ON `leases` (`vnet_id`,`ip_int`) WHERE "leases"."ip_int" IS NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX `leases_vnet_ip6_uq` ON `leases` (`vnet_id`,`ip6`) WHERE "leases"."ip6" IS NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX `leases_nic_uq` ON `leases` (`nic_id`) WHERE "leases"."nic_id" IS NOT NULL;--> statement-breakpoint
CREATE INDEX `leases_state_expiry_idx` ON `leases` (`vnet_id`,`expires_at`) WHERE "leases"."expires_at" IS NOT NULL;--> statement-breakpoint
ALTER TABLE `lease_history` ADD `instance_name` text;--> statement-breakpoint
CREATE INDEX `lease_history_ip6_idx` ON `lease_history` (`vnet_id`,`ip6`) WHERE "lease_history"."ip6" IS NOT NULL;