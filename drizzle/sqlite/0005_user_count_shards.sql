PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_user_counts` (
	`org_id` text NOT NULL,
	`state` text NOT NULL,
	`type` text NOT NULL,
	`shard` integer DEFAULT 0 NOT NULL,
	`count` integer NOT NULL,
	PRIMARY KEY(`org_id`, `state`, `type`, `shard`)
);
--> statement-breakpoint
INSERT INTO `__new_user_counts`("org_id", "state", "type", "shard", "count") SELECT "org_id", "state", "type", 0, "count" FROM `user_counts`;--> statement-breakpoint
DROP TABLE `user_counts`;--> statement-breakpoint
ALTER TABLE `__new_user_counts` RENAME TO `user_counts`;--> statement-breakpoint
PRAGMA foreign_keys=ON;