CREATE TABLE `outbox` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`destination` text NOT NULL,
	`user_id` text NOT NULL,
	`sequence` integer NOT NULL,
	`txn` text NOT NULL,
	`parked` integer DEFAULT false NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`due_at` integer NOT NULL,
	`lease_until` integer,
	`last_error` text,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `outbox_queue` ON `outbox` (`destination`,`user_id`,`id`);--> statement-breakpoint
CREATE INDEX `outbox_due` ON `outbox` (`parked`,`due_at`);