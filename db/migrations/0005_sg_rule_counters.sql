CREATE TABLE `sg_rule_counters` (
	`rule_id` integer NOT NULL,
	`node_id` integer NOT NULL,
	`packets` integer NOT NULL,
	`bytes` integer NOT NULL,
	`base_packets` integer DEFAULT 0 NOT NULL,
	`base_bytes` integer DEFAULT 0 NOT NULL,
	`resets` integer DEFAULT 0 NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`rule_id`, `node_id`),
	FOREIGN KEY (`rule_id`) REFERENCES `sg_rules`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`node_id`) REFERENCES `nodes`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `sg_rule_counters_node_idx` ON `sg_rule_counters` (`node_id`);