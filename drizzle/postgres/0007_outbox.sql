CREATE TABLE "outbox" (
	"id" serial PRIMARY KEY NOT NULL,
	"destination" text NOT NULL,
	"user_id" text NOT NULL,
	"sequence" integer NOT NULL,
	"txn" text NOT NULL,
	"parked" boolean DEFAULT false NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"due_at" timestamp (3) with time zone NOT NULL,
	"lease_until" timestamp (3) with time zone,
	"last_error" text,
	"created_at" timestamp (3) with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "outbox_queue" ON "outbox" USING btree ("destination","user_id","id");--> statement-breakpoint
CREATE INDEX "outbox_due" ON "outbox" USING btree ("parked","due_at");