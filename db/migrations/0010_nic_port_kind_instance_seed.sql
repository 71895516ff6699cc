ALTER TABLE `instances` ADD `seed_secret_hash` text;--> statement-breakpoint
CREATE UNIQUE INDEX `instances_seed_secret_hash_unique` ON `instances` (`seed_secret_hash`);--> statement-breakpoint
ALTER TABLE `nics` ADD `port_kind` text DEFAULT 'guest' NOT NULL;