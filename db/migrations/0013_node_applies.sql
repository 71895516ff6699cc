CREATE TABLE `node_applies` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`node_id` integer NOT NULL,
	`at` integer NOT NULL,
	`kind` text NOT NULL,
	`revision` integer NOT NULL,
	`operations` integer NOT NULL,
	`duration_ms` real NOT NULL,
	`ops` text NOT NULL,
	`error` text,
	`repeats` integer DEFAULT 1 NOT NULL,
	FOREIGN KEY (`node_id`) REFERENCES `nodes`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `node_applies_node_idx` ON `node_applies` (`node_id`,`id`);