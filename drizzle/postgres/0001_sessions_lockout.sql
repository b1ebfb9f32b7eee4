CREATE TABLE "lockout_policies" (
	"scope" text PRIMARY KEY NOT NULL,
	"max_password_attempts" integer NOT NULL,
	"max_otp_attempts" integer NOT NULL,
	"lock_duration_seconds" integer,
	"changed_at" timestamp (3) with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "sessions" (
	"id" text PRIMARY KEY NOT NULL,
	"token_hash" text NOT NULL,
	"user_id" text NOT NULL,
	"org_id" text NOT NULL,
	"sequence" integer NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	"changed_at" timestamp (3) with time zone NOT NULL,
	"user_checked_at" timestamp (3) with time zone NOT NULL,
	"password_checked_at" timestamp (3) with time zone,
	"expires_at" timestamp (3) with time zone,
	"terminated" boolean DEFAULT false NOT NULL
);
--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "lock_cause" text;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "lock_expires_at" timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "password_failures" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX "sessions_user" ON "sessions" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "users_lock_expires" ON "users" USING btree ("lock_expires_at");