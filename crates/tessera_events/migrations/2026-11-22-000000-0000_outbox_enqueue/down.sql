DROP FUNCTION outbox_enqueue(UUID[], TEXT[], TEXT[], JSONB[]);
