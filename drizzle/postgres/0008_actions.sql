CREATE TABLE "action_executions" (
	"condition_id" text NOT NULL,
	"position" integer NOT NULL,
	"target_id" text NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	"changed_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "action_executions_condition_id_position_pk" PRIMARY KEY("condition_id","position")
);
--> statement-breakpoint
CREATE TABLE "action_targets" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"name_lower" text NOT NULL,
	"type" text NOT NULL,
	"interrupt_on_error" boolean NOT NULL,
	"endpoint" text NOT NULL,
	"timeout_ms" integer NOT NULL,
	"payload_type" text NOT NULL,
	"signing_key" text NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	"changed_at" timestamp (3) with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "action_executions" ADD CONSTRAINT "action_executions_target_id_action_targets_id_fk" FOREIGN KEY ("target_id") REFERENCES "action_targets"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "action_executions_target" ON "action_executions" USING btree ("target_id");--> statement-breakpoint
CREATE UNIQUE INDEX "action_targets_name" ON "action_targets" USING btree ("name");--> statement-breakpoint
CREATE INDEX "action_targets_created" ON "action_targets" USING btree ("created_at");