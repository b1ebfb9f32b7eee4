ALTER TABLE "user_counts" ADD COLUMN "shard" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "user_counts" DROP CONSTRAINT "user_counts_org_id_state_type_pk";--> statement-breakpoint
ALTER TABLE "user_counts" ADD CONSTRAINT "user_counts_org_id_state_type_shard_pk" PRIMARY KEY("org_id","state","type","shard");
