DROP INDEX "users_state";--> statement-breakpoint
DROP INDEX "users_lock_expires";--> statement-breakpoint
CREATE INDEX "users_lock_expires" ON "users" USING btree ("lock_expires_at") WHERE "users"."lock_expires_at" is not null;