CREATE TABLE `action_executions` (
	`condition_id` text NOT NULL,
	`position` integer NOT NULL,
	`target_id` text NOT NULL,
	`created_at` integer NOT NULL,
	`changed_at` integer NOT NULL,
	PRIMARY KEY(`condition_id`, `position`),
	FOREIGN KEY (`target_id`) REFERENCES `action_targets`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `action_executions_target` ON `action_executions` (`target_id`);--> statement-breakpoint
CREATE TABLE `action_targets` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`name_lower` text NOT NULL,
	`type` text NOT NULL,
	`interrupt_on_error` integer NOT NULL,
	`endpoint` text NOT NULL,
	`timeout_ms` integer NOT NULL,
	`payload_type` text NOT NULL,
	`signing_key` text NOT NULL,
	`created_at` integer NOT NULL,
	`changed_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `action_targets_name` ON `action_targets` (`name`);--> statement-breakpoint
CREATE INDEX `action_targets_created` ON `action_targets` (`created_at`);