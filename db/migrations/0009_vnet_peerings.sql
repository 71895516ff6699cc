CREATE TABLE `vnet_peerings` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`vnet_a` integer NOT NULL,
	`vnet_b` integer NOT NULL,
	`state` text NOT NULL,
	`proposed_by` text,
	`proposed_from` integer NOT NULL,
	`accepted_by` text,
	`accepted_at` integer,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`vnet_a`) REFERENCES `vnets`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`vnet_b`) REFERENCES `vnets`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`proposed_by`) REFERENCES `user`(`id`) ON UPDATE no action ON DELETE set null,
	FOREIGN KEY (`accepted_by`) REFERENCES `user`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `vnet_peerings_pair_idx` ON `vnet_peerings` (`vnet_a`,`vnet_b`);--> statement-breakpoint
CREATE INDEX `vnet_peerings_b_idx` ON `vnet_peerings` (`vnet_b`);