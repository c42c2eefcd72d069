// Overview, usage charts, plan and quotas, and the audit log.
import { useEffect, useRef, useState } from 'react';
import { bytes, get, patch, post, when } from './api.js';
import { BarChart, series } from './charts.jsx';
import { useLoad } from './hooks.js';
import { Loaded, Meter, Problem } from './ui.jsx';

const count = (n) => Math.round(n).toLocaleString();
const gbh = (n) => `${n.toFixed(3)} GB-h`;

function Quota({ quota }) {
  return (
    <div className="card">
      <h2>
        {quota.plan} plan{' '}
        <span className="muted">
          {quota.monthly_price_cents === null ? 'custom terms' : `$${quota.monthly_price_cents / 100} a month`}
        </span>
      </h2>
      <Meter label={`Ingress in ${quota.month}`} used={quota.ingress_bytes} limit={quota.ingress_limit_bytes} />
      <Meter label="Storage" used={quota.storage_bytes} limit={quota.storage_limit_bytes} />
    </div>
  );
}

export function Overview({ org }) {
  const quota = useLoad(() => get(`/orgs/${org}/quota`), [org]);
  const usage = useLoad(() => get(`/orgs/${org}/usage?granularity=hour`), [org]);
  return (
    <section>
      <h1>Overview</h1>
      <Loaded state={quota} what="quotas">
        {(q) => <Quota quota={q} />}
      </Loaded>
      <Loaded state={usage} what="usage">
        {(u) => (
          <div className="charts">
            <BarChart title="Ingress, last 24 hours" data={series(u, 'ingress_bytes', 'hour')} format={bytes} />
            <BarChart title="Egress, last 24 hours" data={series(u, 'egress_bytes', 'hour')} format={bytes} />
          </div>
        )}
      </Loaded>
    </section>
  );
}

export function Usage({ org }) {
  const [granularity, setGranularity] = useState('hour');
  const state = useLoad(() => get(`/orgs/${org}/usage?granularity=${granularity}`), [org, granularity]);
  const topics = useLoad(
    () => get(`/orgs/${org}/usage?granularity=${granularity}&per_topic=true`),
    [org, granularity],
  );
  const span = granularity === 'hour' ? 'last 24 hours, per hour' : 'last 30 days, per day';
  const perTopic = {};
  for (const b of topics.data?.buckets ?? []) {
    const t = (perTopic[b.topic || '(no topic)'] ??= { ingress: 0, egress: 0, requests: 0, storage: 0 });
    t.ingress += b.ingress_bytes;
    t.egress += b.egress_bytes;
    t.requests += b.requests;
    t.storage += b.storage_gb_hours;
  }
  return (
    <section>
      <h1>Usage</h1>
      <div role="group" aria-label="Granularity" className="row">
        {['hour', 'day'].map((g) => (
          <button
            key={g}
            className={g === granularity ? '' : 'secondary'}
            aria-pressed={g === granularity}
            onClick={() => setGranularity(g)}
          >
            Per {g}
          </button>
        ))}
      </div>
      <Loaded state={state} what="usage">
        {(u) => (
          <div className="charts">
            <BarChart title={`Ingress (${span})`} data={series(u, 'ingress_bytes', granularity)} format={bytes} />
            <BarChart title={`Egress (${span})`} data={series(u, 'egress_bytes', granularity)} format={bytes} />
            <BarChart title={`Requests (${span})`} data={series(u, 'requests', granularity)} format={count} />
            <BarChart title={`Storage (${span})`} data={series(u, 'storage_gb_hours', granularity)} format={gbh} />
          </div>
        )}
      </Loaded>
      <h2>Per topic</h2>
      <table>
        <thead>
          <tr>
            <th scope="col">Topic</th>
            <th scope="col">Ingress</th>
            <th scope="col">Egress</th>
            <th scope="col">Requests</th>
            <th scope="col">Storage</th>
          </tr>
        </thead>
        <tbody>
          {Object.entries(perTopic).map(([t, v]) => (
            <tr key={t}>
              <td>{t}</td>
              <td>{bytes(v.ingress)}</td>
              <td>{bytes(v.egress)}</td>
              <td>{count(v.requests)}</td>
              <td>{gbh(v.storage)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

const money = (cents, currency = 'usd') =>
  `${(cents / 100).toFixed(2)} ${currency.toUpperCase()}`;

/** A card entered in Stripe's own fields (Stripe.js): only a token reaches StreamHouse. */
function CardForm({ org, billing, onDone }) {
  const [error, setError] = useState(null);
  const [ready, setReady] = useState(false);
  const [added, setAdded] = useState(false);
  const mount = useRef(null);
  const stripe = useRef(null);
  useEffect(() => {
    let cancelled = false;
    const start = () => {
      if (cancelled || !window.Stripe) return;
      const s = window.Stripe(billing.publishable_key);
      const card = s.elements().create('card');
      card.mount(mount.current);
      stripe.current = { s, card };
      setReady(true);
    };
    if (window.Stripe) start();
    else {
      const script = document.createElement('script');
      script.src = billing.js_url;
      script.onload = start;
      script.onerror = () => setError(new Error(`Stripe.js did not load from ${billing.js_url}`));
      document.head.appendChild(script);
    }
    return () => {
      cancelled = true;
    };
  }, [billing.publishable_key, billing.js_url]);
  const submit = async (e) => {
    e.preventDefault();
    const { s, card } = stripe.current;
    const r = await s.createToken(card);
    if (r.error) {
      setError(new Error(r.error.message || 'Stripe refused the card'));
      return;
    }
    try {
      await post(`/orgs/${org}/billing/payment-method`, { token: r.token.id });
      setError(null);
      setAdded(true);
      onDone();
    } catch (err) {
      setError(err);
    }
  };
  if (added) {
    return (
      <p role="status">Card added: the subscription has started.</p>
    );
  }
  return (
    <form onSubmit={submit} aria-label="Add a card" className="card-form">
      <div role="group" aria-label="Card details" ref={mount} className="card-element" />
      <button type="submit" disabled={!ready}>
        Add card
      </button>
      <Problem error={error} />
    </form>
  );
}

function Billing({ org, role, billing, reload }) {
  if (!billing.enabled) {
    return <p className="muted">This deployment does not bill through Stripe.</p>;
  }
  return (
    <>
      {role === 'owner' && billing.publishable_key && !billing.subscription_id && (
        <CardForm org={org} billing={billing} onDone={reload} />
      )}
      <dl className="facts">
        <dt>Subscription</dt>
        <dd>
          {billing.subscription_id
            ? `${billing.subscribed_plan} (${billing.subscription_id})`
            : 'starts once a payment method is added'}
        </dd>
        <dt>Standing</dt>
        <dd>{billing.past_due_since ? `past due since ${when(billing.past_due_since)}` : 'in good standing'}</dd>
      </dl>
      <h2>Overage</h2>
      {billing.overage.length === 0 ? (
        <p className="muted">No month has gone beyond the plan.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Month</th>
              <th scope="col">Metric</th>
              <th scope="col">Beyond the plan</th>
              <th scope="col">Amount</th>
              <th scope="col">State</th>
            </tr>
          </thead>
          <tbody>
            {billing.overage.map((l) => (
              <tr key={`${l.period}/${l.metric}`}>
                <td>{l.period}</td>
                <td>{l.metric}</td>
                <td>{`${l.overage.toFixed(3)} ${l.metric === 'storage' ? 'GB-months' : 'GB'}`}</td>
                <td>{money(l.amount_cents)}</td>
                <td>{l.state}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Invoices</h2>
      {billing.invoices.length === 0 ? (
        <p className="muted">No invoice yet.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Invoice</th>
              <th scope="col">Created</th>
              <th scope="col">Amount due</th>
              <th scope="col">Paid</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {billing.invoices.map((i) => (
              <tr key={i.id}>
                <td><code>{i.id}</code></td>
                <td>{when(i.created_at)}</td>
                <td>{money(i.amount_due_cents, i.currency)}</td>
                <td>{money(i.amount_paid_cents, i.currency)}</td>
                <td>{i.status}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

export function Plan({ org, role }) {
  const quota = useLoad(() => get(`/orgs/${org}/quota`), [org]);
  const admin = role === 'owner' || role === 'admin';
  const billing = useLoad(() => (admin ? get(`/orgs/${org}/billing`) : Promise.resolve(null)), [org, admin]);
  const [error, setError] = useState(null);
  const change = async (e) => {
    e.preventDefault();
    try {
      await patch(`/orgs/${org}`, { plan: new FormData(e.target).get('plan') });
      setError(null);
      quota.reload();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <section>
      <h1>Plan, quotas and invoices</h1>
      <Loaded state={quota} what="quotas">
        {(q) => (
          <>
            <Quota quota={q} />
            <dl className="facts">
              <dt>Produce rate</dt>
              <dd>{q.produce_bytes_per_sec ? `${bytes(q.produce_bytes_per_sec)}/s` : 'unlimited'}</dd>
              <dt>Requests</dt>
              <dd>{q.requests_per_sec ? `${count(q.requests_per_sec)}/s` : 'unlimited'}</dd>
              <dt>Fetch rate before reads slow down</dt>
              <dd>{q.fetch_bytes_per_sec ? `${bytes(q.fetch_bytes_per_sec)}/s` : 'unlimited'}</dd>
            </dl>
            {role === 'owner' && (
              <form className="inline" onSubmit={change} aria-label="Change plan">
                <label className="field">
                  <span>Plan</span>
                  <select name="plan" defaultValue={q.plan}>
                    <option value="starter">Starter — $49: 10 GB ingress, 100 GB storage</option>
                    <option value="growth">Growth — $199: 100 GB ingress, 1 TB storage</option>
                    <option value="business">Business — $499: 500 GB ingress, 5 TB storage</option>
                    <option value="enterprise">Enterprise — custom</option>
                  </select>
                </label>
                <button type="submit">Change plan</button>
              </form>
            )}
            <Problem error={error} />
          </>
        )}
      </Loaded>
      {admin && (
        <>
          <h2>Billing</h2>
          <Loaded state={billing} what="billing">
            {(b) => <Billing org={org} role={role} billing={b} reload={billing.reload} />}
          </Loaded>
        </>
      )}
    </section>
  );
}

export function Audit({ org }) {
  const state = useLoad(() => get(`/orgs/${org}/audit?limit=200`), [org]);
  return (
    <section>
      <h1>Audit log</h1>
      <Loaded state={state} what="the audit log">
        {(events) => (
          <table>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">What</th>
                <th scope="col">Target</th>
                <th scope="col">From</th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              {events.map((e, i) => (
                <tr key={`${e.at}-${i}`}>
                  <td>{when(e.at)}</td>
                  <td>{e.actor}</td>
                  <td>{e.action}</td>
                  <td>{e.target}</td>
                  <td>{e.source}</td>
                  <td>{e.detail}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Loaded>
    </section>
  );
}
