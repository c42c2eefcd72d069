// Topics: the list, creating and deleting, and one topic's partitions and latest messages.
import { useState } from 'react';
import { bytes, del, get, patch, post, when } from './api.js';
import { useLoad } from './hooks.js';
import { Link, useRoute } from './router.jsx';
import { Loaded, Problem } from './ui.jsx';

const retention = (ms) => (ms === null || ms === undefined ? 'forever' : `${(ms / 3600000).toFixed(1)} h`);

export function Topics({ org }) {
  const state = useLoad(() => get(`/orgs/${org}/topics`), [org]);
  const [error, setError] = useState(null);
  const create = async (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    const hours = f.get('retention');
    try {
      await post(`/orgs/${org}/topics`, {
        name: f.get('name'),
        partitions: Number(f.get('partitions')),
        retention_ms: hours ? Math.round(Number(hours) * 3600000) : undefined,
      });
      e.target.reset();
      setError(null);
      state.reload();
    } catch (err) {
      setError(err);
    }
  };
  const remove = async (name) => {
    if (!window.confirm(`Delete topic ${name} and all its records?`)) return;
    try {
      await del(`/orgs/${org}/topics/${encodeURIComponent(name)}`);
      state.reload();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <section>
      <h1>Topics</h1>
      <form className="inline" onSubmit={create} aria-label="Create a topic">
        <label className="field">
          <span>Name</span>
          <input name="name" required pattern="[a-zA-Z0-9._\-]+" />
        </label>
        <label className="field">
          <span>Partitions</span>
          <input name="partitions" type="number" min="1" defaultValue="3" required />
        </label>
        <label className="field">
          <span>Retention (hours, empty for ever)</span>
          <input name="retention" type="number" min="0.001" step="any" />
        </label>
        <button type="submit">Create topic</button>
      </form>
      <Problem error={error} />
      <Loaded state={state} what="topics">
        {(topics) =>
          topics.length === 0 ? (
            <p className="muted">No topics yet.</p>
          ) : (
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Partitions</th>
                  <th scope="col">Retention</th>
                  <th scope="col">Stored</th>
                  <th scope="col">Created</th>
                  <th scope="col"><span className="sr-only">Actions</span></th>
                </tr>
              </thead>
              <tbody>
                {topics.map((t) => (
                  <tr key={t.name}>
                    <td>
                      <Link to={`/orgs/${org}/topics/${encodeURIComponent(t.name)}`}>{t.name}</Link>
                    </td>
                    <td>{t.partitions}</td>
                    <td>{retention(t.retention_ms)}</td>
                    <td>{bytes(t.stored_bytes)}</td>
                    <td>{when(t.created_at)}</td>
                    <td>
                      <button className="danger" onClick={() => remove(t.name)} aria-label={`Delete topic ${t.name}`}>
                        Delete
                      </button>
                    </td>
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

function Messages({ org, topic, partitions }) {
  const [partition, setPartition] = useState(0);
  const [messages, setMessages] = useState(null);
  const [error, setError] = useState(null);
  const load = async (e) => {
    e?.preventDefault();
    try {
      setMessages(await get(`/orgs/${org}/topics/${encodeURIComponent(topic)}/partitions/${partition}/messages?limit=50`));
      setError(null);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <section aria-labelledby="browser">
      <h2 id="browser">Latest messages</h2>
      <form className="inline" onSubmit={load}>
        <label className="field">
          <span>Partition</span>
          <select value={partition} onChange={(e) => setPartition(Number(e.target.value))}>
            {Array.from({ length: partitions }, (_, i) => (
              <option key={i} value={i}>
                {i}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Show latest messages</button>
      </form>
      <Problem error={error} />
      {messages &&
        (messages.length === 0 ? (
          <p className="muted">No messages in partition {partition}.</p>
        ) : (
          <table className="messages">
            <thead>
              <tr>
                <th scope="col">Offset</th>
                <th scope="col">Timestamp</th>
                <th scope="col">Key</th>
                <th scope="col">Value</th>
              </tr>
            </thead>
            <tbody>
              {messages.map((m) => (
                <tr key={m.offset}>
                  <td>{m.offset}</td>
                  <td>{when(m.timestamp)}</td>
                  <td><code>{m.key ?? '—'}</code></td>
                  <td><code>{m.value ?? '(tombstone)'}</code>{m.encoding === 'base64' && <span className="muted"> (base64)</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ))}
    </section>
  );
}

export function TopicDetail({ org, topic }) {
  const state = useLoad(() => get(`/orgs/${org}/topics/${encodeURIComponent(topic)}`), [org, topic]);
  const [error, setError] = useState(null);
  const { go } = useRoute();
  const setRetention = async (e) => {
    e.preventDefault();
    const hours = new FormData(e.target).get('retention');
    try {
      await patch(`/orgs/${org}/topics/${encodeURIComponent(topic)}`, {
        retention_ms: hours ? Math.round(Number(hours) * 3600000) : null,
      });
      setError(null);
      state.reload();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <section>
      <p>
        <Link to={`/orgs/${org}/topics`}>← Topics</Link>
      </p>
      <h1>Topic {topic}</h1>
      <Loaded state={state} what="the topic">
        {(t) => (
          <>
            <dl className="facts">
              <dt>Partitions</dt>
              <dd>{t.partitions}</dd>
              <dt>Retention</dt>
              <dd>{retention(t.retention_ms)}</dd>
              <dt>Compression</dt>
              <dd>{t.compression}</dd>
              <dt>Stored</dt>
              <dd>{bytes(t.stored_bytes)}</dd>
            </dl>
            <form className="inline" onSubmit={setRetention} aria-label="Change retention">
              <label className="field">
                <span>Retention (hours, empty for ever)</span>
                <input name="retention" type="number" min="0.001" step="any" />
              </label>
              <button type="submit">Change retention</button>
            </form>
            <Problem error={error} />
            <h2>Partitions</h2>
            <table>
              <thead>
                <tr>
                  <th scope="col">Partition</th>
                  <th scope="col">Log start</th>
                  <th scope="col">High watermark</th>
                </tr>
              </thead>
              <tbody>
                {t.partition_offsets.map((p) => (
                  <tr key={p.partition}>
                    <td>{p.partition}</td>
                    <td>{p.log_start_offset}</td>
                    <td>{p.high_watermark}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <Messages org={org} topic={topic} partitions={t.partitions} />
          </>
        )}
      </Loaded>
      {state.error?.status === 404 && <button onClick={() => go(`/orgs/${org}/topics`)}>Back to topics</button>}
    </section>
  );
}

export function Groups({ org }) {
  const state = useLoad(() => get(`/orgs/${org}/groups`), [org]);
  return (
    <section>
      <h1>Consumer groups</h1>
      <Loaded state={state} what="consumer groups">
        {(groups) =>
          groups.length === 0 ? (
            <p className="muted">No consumer group has committed offsets yet.</p>
          ) : (
            groups.map((g) => (
              <details key={g.group} className="group">
                <summary>
                  <strong>{g.group}</strong> — lag {g.lag.toLocaleString()} records
                </summary>
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Topic</th>
                      <th scope="col">Partition</th>
                      <th scope="col">Committed</th>
                      <th scope="col">High watermark</th>
                      <th scope="col">Lag</th>
                      <th scope="col">Committed at</th>
                    </tr>
                  </thead>
                  <tbody>
                    {g.partitions.map((p) => (
                      <tr key={`${p.topic}/${p.partition}`}>
                        <td>{p.topic}</td>
                        <td>{p.partition}</td>
                        <td>{p.committed}</td>
                        <td>{p.high_watermark}</td>
                        <td>{p.lag}</td>
                        <td>{when(p.updated_at)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </details>
            ))
          )
        }
      </Loaded>
    </section>
  );
}
