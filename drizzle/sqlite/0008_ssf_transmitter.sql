CREATE TABLE `ssf_keys` (
	`kid` text PRIMARY KEY NOT NULL,
	`private_key_pem` text NOT NULL,
	`public_jwk` text NOT NULL,
	`current` integer NOT NULL,
	`created_at` integer NOT NULL,
	`rotated_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `ssf_keys_one_current` ON `ssf_keys` (`current`) WHERE "ssf_keys"."current" = 1;--> statement-breakpoint
CREATE TABLE `ssf_streams` (
	`id` text PRIMARY KEY NOT NULL,
	`receiver_id` text NOT NULL,
	`aud` text NOT NULL,
	`delivery_method` text NOT NULL,
	`endpoint_url` text,
	`authorization_header` text,
	`events_requested` text,
	`events_delivered` text NOT NULL,
	`description` text,
	`format` text NOT NULL,
	`default_subjects` text NOT NULL,
	`status` text NOT NULL,
	`status_reason` text,
	`last_verification_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `ssf_streams_receiver` ON `ssf_streams` (`receiver_id`);--> statement-breakpoint
CREATE TABLE `ssf_subjects` (
	`stream_id` text NOT NULL,
	`subject_key` text NOT NULL,
	`included` integer NOT NULL,
	PRIMARY KEY(`stream_id`, `subject_key`)
);
--> statement-breakpoint
CREATE TABLE `ssf_verifications` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`stream_id` text NOT NULL,
	`state` text,
	`requested_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `ssf_verifications_stream` ON `ssf_verifications` (`stream_id`);