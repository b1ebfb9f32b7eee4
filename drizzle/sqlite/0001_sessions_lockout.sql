CREATE TABLE `lockout_policies` (
	`scope` text PRIMARY KEY NOT NULL,
	`max_password_attempts` integer NOT NULL,
	`max_otp_attempts` integer NOT NULL,
	`lock_duration_seconds` integer,
	`changed_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `sessions` (
	`id` text PRIMARY KEY NOT NULL,
	`token_hash` text NOT NULL,
	`user_id` text NOT NULL,
	`org_id` text NOT NULL,
	`sequence` integer NOT NULL,
	`created_at` integer NOT NULL,
	`changed_at` integer NOT NULL,
	`user_checked_at` integer NOT NULL,
	`password_checked_at` integer,
	`expires_at` integer,
	`terminated` integer DEFAULT false NOT NULL
);
--> statement-breakpoint
CREATE INDEX `sessions_user` ON `sessions` (`user_id`);--> statement-breakpoint
ALTER TABLE `users` ADD `lock_cause` text;--> statement-breakpoint
ALTER TABLE `users` ADD `lock_expires_at` integer;--> statement-breakpoint
ALTER TABLE `users` ADD `password_failures` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX `users_lock_expires` ON `users` (`lock_expires_at`);