-- token_check as it was before `usable`.

CREATE OR REPLACE FUNCTION token_check(
    p_sandbox TEXT, p_host TEXT, p_scopes TEXT[], p_now TIMESTAMPTZ, p_win TIMESTAMPTZ, p_prev TIMESTAMPTZ
) RETURNS JSONB
LANGUAGE plpgsql AS $$
DECLARE
    b bindings%ROWTYPE;
    allowed TEXT[];
    cur INTEGER;
    before INTEGER;
BEGIN
    SELECT * INTO b FROM bindings WHERE bindings.sandbox_id = p_sandbox;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    SELECT u.scopes INTO allowed FROM binding_upstreams u
    WHERE u.sandbox_id = p_sandbox AND u.upstream_host = p_host;
    IF b.status = 'active' AND (b.expires_at IS NULL OR b.expires_at > p_now)
        AND allowed IS NOT NULL AND p_scopes <@ allowed THEN
        INSERT INTO rate_windows (sandbox_id, window_start, count) VALUES (p_sandbox, p_win, 1)
        ON CONFLICT (sandbox_id, window_start) DO UPDATE SET count = rate_windows.count + 1
        RETURNING rate_windows.count INTO cur;
        SELECT w.count INTO before FROM rate_windows w
        WHERE w.sandbox_id = p_sandbox AND w.window_start = p_prev;
    END IF;
    RETURN jsonb_build_object(
        'binding', to_jsonb(b) - 'created_at' - 'updated_at',
        'allowed_scopes', to_jsonb(allowed),
        'counts', CASE WHEN cur IS NULL THEN NULL ELSE jsonb_build_array(cur, COALESCE(before, 0)) END
    );
END
$$;
