CREATE TABLE "events" (
	"id" serial PRIMARY KEY NOT NULL,
	"aggregate_id" text NOT NULL,
	"sequence" integer NOT NULL,
	"type" text NOT NULL,
	"payload" jsonb,
	"actor" text NOT NULL,
	"resource_owner" text NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "organizations" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "role_grants" (
	"id" serial PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"org_id" text,
	"role" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "tokens" (
	"hash" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	"expires_at" timestamp (3) with time zone,
	"revoked_at" timestamp (3) with time zone
);
--> statement-breakpoint
CREATE TABLE "users" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"type" text NOT NULL,
	"username" text NOT NULL,
	"username_lower" text NOT NULL,
	"state" text NOT NULL,
	"initial" boolean NOT NULL,
	"locked" boolean NOT NULL,
	"inactive" boolean NOT NULL,
	"removed" boolean NOT NULL,
	"given_name" text,
	"family_name" text,
	"nick_name" text,
	"display_name" text,
	"preferred_language" text,
	"gender" text,
	"email" text,
	"email_verified" boolean,
	"password_hash" text,
	"password_change_required" boolean,
	"machine_name" text,
	"machine_description" text,
	"sequence" integer NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	"changed_at" timestamp (3) with time zone NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "events_aggregate_sequence" ON "events" USING btree ("aggregate_id","sequence");--> statement-breakpoint
CREATE INDEX "role_grants_user" ON "role_grants" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "tokens_user" ON "tokens" USING btree ("user_id");--> statement-breakpoint
CREATE UNIQUE INDEX "users_org_username" ON "users" USING btree ("org_id","username") WHERE "users"."removed" = false;--> statement-breakpoint
CREATE INDEX "users_state" ON "users" USING btree ("state");--> statement-breakpoint
CREATE INDEX "users_org" ON "users" USING btree ("org_id");--> statement-breakpoint
CREATE INDEX "users_username" ON "users" USING btree ("username");--> statement-breakpoint
CREATE INDEX "users_username_lower" ON "users" USING btree ("username_lower");--> statement-breakpoint
CREATE INDEX "users_created" ON "users" USING btree ("created_at");