ALTER TABLE `lease_history` ADD `instance_name` text;--> statement-breakpoint
CREATE INDEX `lease_history_ip6_idx` ON `lease_history` (`vnet_id`,`ip6`);