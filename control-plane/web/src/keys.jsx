// API keys: the secret shown once with a copy button, revoking and rotating.
import { useState } from 'react';
import { del, get, post, when } from './api.js';
import { useLoad } from './hooks.js';
import { Loaded, Problem } from './ui.jsx';

function Secret({ created, onDone }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    await navigator.clipboard.writeText(created.secret);
    setCopied(true);
  };
  return (
    <div className="secret" role="status">
      <p>
        <strong>Copy the key {created.key.name} now: it is shown only this once.</strong>
      </p>
      <code data-testid="new-key">{created.secret}</code>
      <div className="row">
        <button onClick={copy}>{copied ? 'Copied' : 'Copy to clipboard'}</button>
        <button className="secondary" onClick={onDone}>
          I have stored it
        </button>
      </div>
    </div>
  );
}

export function Keys({ org }) {
  const state = useLoad(() => get(`/orgs/${org}/keys`), [org]);
  const [error, setError] = useState(null);
  const [created, setCreated] = useState(null);
  const create = async (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    const topics = String(f.get('topics') || '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const expires = f.get('expires');
    try {
      setCreated(
        await post(`/orgs/${org}/keys`, {
          name: f.get('name'),
          scopes: f.getAll('scopes'),
          topics,
          expires_at: expires ? new Date(`${expires}T00:00:00Z`).toISOString() : undefined,
        }),
      );
      e.target.reset();
      setError(null);
      state.reload();
    } catch (err) {
      setError(err);
    }
  };
  const act = async (f) => {
    try {
      await f();
      setError(null);
      state.reload();
    } catch (err) {
      setError(err);
    }
  };
  const revoke = (id) => act(() => del(`/orgs/${org}/keys/${id}`));
  const rotate = (id) =>
    act(async () => setCreated(await post(`/orgs/${org}/keys/${id}/rotate`, { overlap_seconds: 86400 })));
  return (
    <section>
      <h1>API keys</h1>
      <p className="muted">
        Programs authenticate to the agents (gRPC) and to this API with a key: <code>authorization: Bearer shk_…</code>.
      </p>
      {created && <Secret created={created} onDone={() => setCreated(null)} />}
      <form onSubmit={create} className="inline" aria-label="Create an API key">
        <label className="field">
          <span>Name</span>
          <input name="name" required maxLength={128} />
        </label>
        <fieldset>
          <legend>Scopes</legend>
          {['read', 'write', 'admin'].map((s) => (
            <label key={s} className="check">
              <input type="checkbox" name="scopes" value={s} defaultChecked={s !== 'admin'} /> {s}
            </label>
          ))}
        </fieldset>
        <label className="field">
          <span>Topics (patterns, comma-separated; empty for all)</span>
          <input name="topics" placeholder="orders-*, audit" />
        </label>
        <label className="field">
          <span>Expires on (optional)</span>
          <input name="expires" type="date" />
        </label>
        <button type="submit">Create key</button>
      </form>
      <Problem error={error} />
      <Loaded state={state} what="keys">
        {(keys) => (
          <table>
            <thead>
              <tr>
                <th scope="col">Key</th>
                <th scope="col">Name</th>
                <th scope="col">Scopes</th>
                <th scope="col">Topics</th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
                <th scope="col">Status</th>
                <th scope="col"><span className="sr-only">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              {keys.map((k) => {
                const expired = k.expires_at && new Date(k.expires_at) <= new Date();
                const live = !k.revoked_at && !expired;
                return (
                  <tr key={k.id}>
                    <td><code>{k.id}</code></td>
                    <td>{k.name}</td>
                    <td>{k.scopes.join(', ')}</td>
                    <td>{k.topics.length ? k.topics.join(', ') : 'all'}</td>
                    <td>{when(k.created_at)}</td>
                    <td>{when(k.last_used_at)}</td>
                    <td>
                      {k.revoked_at
                        ? `revoked ${when(k.revoked_at)}`
                        : expired
                          ? 'expired'
                          : k.expires_at
                            ? `expires ${when(k.expires_at)}`
                            : 'active'}
                    </td>
                    <td className="row">
                      {live && (
                        <>
                          <button className="secondary" onClick={() => rotate(k.id)} aria-label={`Rotate key ${k.id}`}>
                            Rotate
                          </button>
                          <button className="danger" onClick={() => revoke(k.id)} aria-label={`Revoke key ${k.id}`}>
                            Revoke
                          </button>
                        </>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </Loaded>
    </section>
  );
}
