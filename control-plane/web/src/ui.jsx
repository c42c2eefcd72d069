// Small shared pieces: errors, loading, forms' error text, quota bars.
import { bytes } from './api.js';

export function Problem({ error }) {
  if (!error) return null;
  return (
    <p role="alert" className="problem">
      {error.message}
    </p>
  );
}

export function Loading({ what }) {
  return <p aria-live="polite" className="muted">Loading {what}…</p>;
}

/** Loads, error or content. */
export function Loaded({ state, what, children }) {
  if (state.error) return <Problem error={state.error} />;
  if (!state.data) return <Loading what={what} />;
  return children(state.data);
}

export function Meter({ label, used, limit }) {
  const pct = limit ? Math.min(100, (100 * used) / limit) : 0;
  return (
    <div className="meter">
      <div className="meter-label">
        <span>{label}</span>
        <span>
          {bytes(used)} of {limit ? bytes(limit) : 'unlimited'}
        </span>
      </div>
      <div
        className="meter-bar"
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.round(pct)}
      >
        <div style={{ width: `${pct}%` }} className={pct > 90 ? 'hot' : ''} />
      </div>
    </div>
  );
}
