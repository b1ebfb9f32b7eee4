CREATE TABLE "ssf_keys" (
	"kid" text PRIMARY KEY NOT NULL,
	"private_key_pem" text NOT NULL,
	"public_jwk" jsonb NOT NULL,
	"current" boolean NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	"rotated_at" timestamp (3) with time zone
);
--> statement-breakpoint
CREATE TABLE "ssf_streams" (
	"id" text PRIMARY KEY NOT NULL,
	"receiver_id" text NOT NULL,
	"aud" text NOT NULL,
	"delivery_method" text NOT NULL,
	"endpoint_url" text,
	"authorization_header" text,
	"events_requested" jsonb,
	"events_delivered" jsonb NOT NULL,
	"description" text,
	"format" text NOT NULL,
	"default_subjects" text NOT NULL,
	"status" text NOT NULL,
	"status_reason" text,
	"last_verification_at" timestamp (3) with time zone,
	"created_at" timestamp (3) with time zone NOT NULL,
	"updated_at" timestamp (3) with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "ssf_subjects" (
	"stream_id" text NOT NULL,
	"subject_key" text NOT NULL,
	"included" boolean NOT NULL,
	CONSTRAINT "ssf_subjects_stream_id_subject_key_pk" PRIMARY KEY("stream_id","subject_key")
);
--> statement-breakpoint
CREATE TABLE "ssf_verifications" (
	"id" serial PRIMARY KEY NOT NULL,
	"stream_id" text NOT NULL,
	"state" text,
	"requested_at" timestamp (3) with time zone NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "ssf_keys_one_current" ON "ssf_keys" USING btree ("current") WHERE "ssf_keys"."current" = true;--> statement-breakpoint
CREATE UNIQUE INDEX "ssf_streams_receiver" ON "ssf_streams" USING btree ("receiver_id");--> statement-breakpoint
CREATE INDEX "ssf_verifications_stream" ON "ssf_verifications" USING btree ("stream_id");