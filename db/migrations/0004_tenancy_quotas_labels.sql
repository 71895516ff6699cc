CREATE TABLE `quotas` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`subject_type` text NOT NULL,
	`subject_id` text NOT NULL,
	`max_vnets` integer,
	`max_leases` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `quotas_subject_uq` ON `quotas` (`subject_type`,`subject_id`);--> statement-breakpoint
ALTER TABLE `vnets` ADD `labels` text DEFAULT '[]' NOT NULL;