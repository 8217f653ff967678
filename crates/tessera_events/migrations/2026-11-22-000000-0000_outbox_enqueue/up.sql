-- One statement of fixed text for any number of outbox rows (tessera_events::outbox::enqueue).
-- A multi-row `INSERT … VALUES (…), (…)` has a different text for each row count, so it is parsed,
-- planned and prepared on every batch (an extra round trip); this function's call is one cached
-- prepared statement, and PL/pgSQL keeps the INSERT's plan for the session. The four arrays are
-- the rows' columns, index by index (equal lengths).
CREATE FUNCTION outbox_enqueue(p_ids UUID[], p_routing_keys TEXT[], p_bodies TEXT[], p_headers JSONB[])
RETURNS INTEGER
LANGUAGE plpgsql AS $$
BEGIN
    IF cardinality(p_ids) <> cardinality(p_routing_keys) OR cardinality(p_ids) <> cardinality(p_bodies)
        OR cardinality(p_ids) <> cardinality(p_headers) THEN
        RAISE EXCEPTION 'outbox_enqueue: arrays of different lengths';
    END IF;
    INSERT INTO outbox (id, routing_key, body, headers)
    SELECT * FROM unnest(p_ids, p_routing_keys, p_bodies, p_headers);
    RETURN cardinality(p_ids);
END
$$;
