-- The binding rule in one place (issue #19): `token_check` says whether the binding is usable
-- (active and unexpired at `p_now`) as `usable`, and the service refuses `binding_inactive` on
-- that instead of re-deciding it in Rust. Same arguments, same result otherwise.

CREATE OR REPLACE FUNCTION token_check(
    p_sandbox TEXT, p_host TEXT, p_scopes TEXT[], p_now TIMESTAMPTZ, p_win TIMESTAMPTZ, p_prev TIMESTAMPTZ
) RETURNS JSONB
LANGUAGE plpgsql AS $$
DECLARE
    b bindings%ROWTYPE;
    allowed TEXT[];
    usable BOOLEAN;
    cur INTEGER;
    before INTEGER;
BEGIN
    SELECT * INTO b FROM bindings WHERE bindings.sandbox_id = p_sandbox;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    SELECT u.scopes INTO allowed FROM binding_upstreams u
    WHERE u.sandbox_id = p_sandbox AND u.upstream_host = p_host;
    usable := b.status = 'active' AND (b.expires_at IS NULL OR b.expires_at > p_now);
    IF usable AND allowed IS NOT NULL AND p_scopes <@ allowed THEN
        INSERT INTO rate_windows (sandbox_id, window_start, count) VALUES (p_sandbox, p_win, 1)
        ON CONFLICT (sandbox_id, window_start) DO UPDATE SET count = rate_windows.count + 1
        RETURNING rate_windows.count INTO cur;
        SELECT w.count INTO before FROM rate_windows w
        WHERE w.sandbox_id = p_sandbox AND w.window_start = p_prev;
    END IF;
    RETURN jsonb_build_object(
        'binding', to_jsonb(b) - 'created_at' - 'updated_at',
        'usable', usable,
        'allowed_scopes', to_jsonb(allowed),
        'counts', CASE WHEN cur IS NULL THEN NULL ELSE jsonb_build_array(cur, COALESCE(before, 0)) END
    );
END
$$;
