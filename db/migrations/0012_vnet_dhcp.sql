ALTER TABLE `vnets` ADD `dhcp_enabled` integer;--> statement-breakpoint
ALTER TABLE `vnets` ADD `dns_domain` text;