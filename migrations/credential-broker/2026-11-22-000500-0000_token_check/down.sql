CREATE FUNCTION rate_hit(sandbox TEXT, win TIMESTAMPTZ, prev TIMESTAMPTZ) RETURNS INTEGER[]
LANGUAGE plpgsql AS $$
DECLARE
    cur INTEGER;
    before INTEGER;
BEGIN
    INSERT INTO rate_windows (sandbox_id, window_start, count) VALUES (sandbox, win, 1)
    ON CONFLICT (sandbox_id, window_start) DO UPDATE SET count = rate_windows.count + 1
    RETURNING count INTO cur;
    SELECT count INTO before FROM rate_windows WHERE sandbox_id = sandbox AND window_start = prev;
    RETURN ARRAY[cur, COALESCE(before, 0)];
END
$$;
CREATE FUNCTION record_token_request(
    p_request_id TEXT, p_caller TEXT, p_sandbox TEXT, p_host TEXT, p_scopes TEXT[], p_outcome TEXT,
    p_reason TEXT, p_hmac BYTEA, p_event_id UUID, p_routing_key TEXT, p_body TEXT, p_headers JSONB
) RETURNS INTEGER
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_log (request_id, caller, sandbox_id, upstream_host, scopes, outcome, reason, token_hmac)
    VALUES (p_request_id, p_caller, p_sandbox, p_host, p_scopes, p_outcome, p_reason, p_hmac);
    INSERT INTO outbox (id, routing_key, body, headers) VALUES (p_event_id, p_routing_key, p_body, p_headers);
    RETURN 1;
END
$$;
DROP FUNCTION record_token_requests(JSONB);
DROP FUNCTION token_check(TEXT, TEXT, TEXT[], TIMESTAMPTZ, TIMESTAMPTZ, TIMESTAMPTZ);
