ALTER TABLE `vnets` ADD `dhcp_lease_seconds` integer;--> statement-breakpoint
ALTER TABLE `vnets` ADD `dns_upstreams` text DEFAULT '[]' NOT NULL;