// For the platform's operators: every organization, and the live agents.
import { useState } from 'react';
import { get, patch, put, when } from './api.js';
import { useLoad } from './hooks.js';
import { Link } from './router.jsx';
import { Loaded, Problem } from './ui.jsx';

export function Organizations() {
  const state = useLoad(() => get('/orgs'), []);
  const [error, setError] = useState(null);
  const act = async (f) => {
    try {
      await f();
      setError(null);
      state.reload();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <section>
      <h1>Organizations</h1>
      <Problem error={error} />
      <Loaded state={state} what="organizations">
        {(orgs) => (
          <table>
            <thead>
              <tr>
                <th scope="col">Organization</th>
                <th scope="col">Plan</th>
                <th scope="col">Status</th>
                <th scope="col">Agent group</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {orgs.map((o) => (
                <tr key={o.id}>
                  <td>
                    <Link to={`/orgs/${o.id}`}>{o.name}</Link> <code className="muted">{o.id}</code>
                  </td>
                  <td>{o.plan}</td>
                  <td>
                    <select
                      aria-label={`Status of ${o.name}`}
                      value={o.status}
                      onChange={(e) => act(() => patch(`/orgs/${o.id}`, { status: e.target.value }))}
                    >
                      {['active', 'past_due', 'suspended'].map((s) => (
                        <option key={s}>{s}</option>
                      ))}
                    </select>
                  </td>
                  <td>
                    <form
                      className="row"
                      onSubmit={(e) => {
                        e.preventDefault();
                        const group = new FormData(e.target).get('group');
                        act(() => put(`/orgs/${o.id}/agent-group`, { group }));
                      }}
                    >
                      <input name="group" aria-label={`Agent group of ${o.name}`} defaultValue={o.agent_group} size={10} />
                      <button type="submit" className="secondary">Assign</button>
                    </form>
                  </td>
                  <td>{when(o.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Loaded>
    </section>
  );
}

export function Agents() {
  const state = useLoad(() => get('/agents'), []);
  return (
    <section>
      <h1>Agents</h1>
      <button className="secondary" onClick={state.reload}>Refresh</button>
      <Loaded state={state} what="agents">
        {(agents) =>
          agents.length === 0 ? (
            <p className="muted">No agent is running.</p>
          ) : (
            <table>
              <thead>
                <tr>
                  <th scope="col">Agent</th>
                  <th scope="col">Group</th>
                  <th scope="col">Zone</th>
                  <th scope="col">Address</th>
                  <th scope="col">Leases</th>
                  <th scope="col">Last heartbeat</th>
                </tr>
              </thead>
              <tbody>
                {agents.map((a) => (
                  <tr key={a.holder}>
                    <td>{a.agent_id}</td>
                    <td>{a.group}</td>
                    <td>{a.zone || '—'}</td>
                    <td><code>{a.addr}</code></td>
                    <td>{a.leases}</td>
                    <td>{(a.heartbeat_age_ms / 1000).toFixed(1)} s ago</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Loaded>
    </section>
  );
}
