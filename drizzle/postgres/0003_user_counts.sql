CREATE TABLE "user_counts" (
	"org_id" text NOT NULL,
	"state" text NOT NULL,
	"type" text NOT NULL,
	"count" integer NOT NULL,
	CONSTRAINT "user_counts_org_id_state_type_pk" PRIMARY KEY("org_id","state","type")
);
--> statement-breakpoint
INSERT INTO user_counts (org_id, state, type, count) SELECT org_id, state, type, count(*) FROM users GROUP BY org_id, state, type;
