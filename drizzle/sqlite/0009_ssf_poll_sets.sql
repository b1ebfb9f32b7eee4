CREATE TABLE `ssf_poll_sets` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`stream_id` text NOT NULL,
	`jti` text NOT NULL,
	`kid` text NOT NULL,
	`set` text NOT NULL,
	`error` text,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `ssf_poll_sets_jti` ON `ssf_poll_sets` (`stream_id`,`jti`);--> statement-breakpoint
CREATE INDEX `ssf_poll_sets_queue` ON `ssf_poll_sets` (`stream_id`,`id`);--> statement-breakpoint
CREATE INDEX `ssf_poll_sets_kid` ON `ssf_poll_sets` (`kid`);