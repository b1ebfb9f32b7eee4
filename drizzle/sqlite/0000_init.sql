CREATE TABLE `events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`aggregate_id` text NOT NULL,
	`sequence` integer NOT NULL,
	`type` text NOT NULL,
	`payload` text,
	`actor` text NOT NULL,
	`resource_owner` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `events_aggregate_sequence` ON `events` (`aggregate_id`,`sequence`);--> statement-breakpoint
CREATE TABLE `organizations` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `role_grants` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`user_id` text NOT NULL,
	`org_id` text,
	`role` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `role_grants_user` ON `role_grants` (`user_id`);--> statement-breakpoint
CREATE TABLE `tokens` (
	`hash` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer,
	`revoked_at` integer
);
--> statement-breakpoint
CREATE INDEX `tokens_user` ON `tokens` (`user_id`);--> statement-breakpoint
CREATE TABLE `users` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`type` text NOT NULL,
	`username` text NOT NULL,
	`username_lower` text NOT NULL,
	`state` text NOT NULL,
	`initial` integer NOT NULL,
	`locked` integer NOT NULL,
	`inactive` integer NOT NULL,
	`removed` integer NOT NULL,
	`given_name` text,
	`family_name` text,
	`nick_name` text,
	`display_name` text,
	`preferred_language` text,
	`gender` text,
	`email` text,
	`email_verified` integer,
	`password_hash` text,
	`password_change_required` integer,
	`machine_name` text,
	`machine_description` text,
	`sequence` integer NOT NULL,
	`created_at` integer NOT NULL,
	`changed_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `users_org_username` ON `users` (`org_id`,`username`) WHERE "users"."removed" = 0;--> statement-breakpoint
CREATE INDEX `users_state` ON `users` (`state`);--> statement-breakpoint
CREATE INDEX `users_org` ON `users` (`org_id`);--> statement-breakpoint
CREATE INDEX `users_username` ON `users` (`username`);--> statement-breakpoint
CREATE INDEX `users_username_lower` ON `users` (`username_lower`);--> statement-breakpoint
CREATE INDEX `users_created` ON `users` (`created_at`);