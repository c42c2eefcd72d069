// Bar charts in plain SVG: one series over time buckets, with the values also offered as a
// table for screen readers and people who would rather read.
import { useId } from 'react';

export function BarChart({ title, data, format, height = 160 }) {
  const id = useId();
  const width = 640;
  const pad = { left: 84, bottom: 28, top: 8, right: 8 };
  const max = Math.max(1, ...data.map((d) => d.value));
  const w = (width - pad.left - pad.right) / Math.max(1, data.length);
  const h = height - pad.top - pad.bottom;
  const every = Math.max(1, Math.ceil(data.length / 8));
  const total = data.reduce((s, d) => s + d.value, 0);
  return (
    <figure className="chart">
      <figcaption id={`${id}-t`}>
        {title} <span className="muted">— total {format(total)}</span>
      </figcaption>
      <svg
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-labelledby={`${id}-t`}
        preserveAspectRatio="none"
      >
        <line x1={pad.left} x2={width - pad.right} y1={pad.top + h} y2={pad.top + h} className="axis" />
        <text x={pad.left - 6} y={pad.top + 10} textAnchor="end" className="tick">
          {format(max)}
        </text>
        <text x={pad.left - 6} y={pad.top + h} textAnchor="end" className="tick">
          0
        </text>
        {data.map((d, i) => {
          const bh = (d.value / max) * h;
          return (
            <g key={d.label}>
              <rect
                x={pad.left + i * w + 1}
                y={pad.top + h - bh}
                width={Math.max(1, w - 2)}
                height={bh}
                className="bar"
              >
                <title>{`${d.label}: ${format(d.value)}`}</title>
              </rect>
              {i % every === 0 && (
                <text x={pad.left + i * w + w / 2} y={height - 8} textAnchor="middle" className="tick">
                  {d.short}
                </text>
              )}
            </g>
          );
        })}
      </svg>
      <details>
        <summary>Show as a table</summary>
        <table>
          <thead>
            <tr>
              <th scope="col">Period</th>
              <th scope="col">{title}</th>
            </tr>
          </thead>
          <tbody>
            {data.map((d) => (
              <tr key={d.label}>
                <td>{d.label}</td>
                <td>{format(d.value)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}

/** Chart points from a usage report's buckets. */
export function series(report, field, granularity) {
  return (report?.buckets ?? []).map((b) => {
    const d = new Date(b.start);
    const short =
      granularity === 'day'
        ? `${d.getUTCMonth() + 1}/${d.getUTCDate()}`
        : `${String(d.getUTCHours()).padStart(2, '0')}h`;
    return { label: `${b.start}`, short, value: b[field] };
  });
}
