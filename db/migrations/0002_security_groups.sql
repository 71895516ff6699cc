CREATE TABLE `nic_security_groups` (
	`nic_id` integer NOT NULL,
	`sg_id` integer NOT NULL,
	PRIMARY KEY(`nic_id`, `sg_id`),
	FOREIGN KEY (`nic_id`) REFERENCES `nics`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`sg_id`) REFERENCES `security_groups`(`id`) ON UPDATE no action ON DELETE restrict
);
--> statement-breakpoint
CREATE INDEX `nic_sg_sg_idx` ON `nic_security_groups` (`sg_id`);