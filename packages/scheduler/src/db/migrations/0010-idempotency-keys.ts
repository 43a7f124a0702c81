import { sql, type Kysely } from 'kysely';

// Frozen in time: never edit once landed; later changes are new migrations.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE idempotency_keys (
      id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      principal    text NOT NULL,         -- name of the API token that sent the key: each token's keys are its own
      key_hash     text NOT NULL,         -- sha256 of the Idempotency-Key, hex; the key itself is never stored
      fingerprint  text NOT NULL,         -- sha256 of method, path and body: the same key with another request is refused
      response     text,                  -- the answer to the create, sealed (AES-256-GCM) with a key derived from the Idempotency-Key; set in the create's transaction
      created_at   timestamptz NOT NULL DEFAULT now(),
      expires_at   timestamptz NOT NULL,  -- from then on the key is free again; the scheduler deletes expired rows
      UNIQUE (principal, key_hash)
    )
  `.execute(db);
  await sql`CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys (expires_at)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE idempotency_keys`.execute(db);
}
