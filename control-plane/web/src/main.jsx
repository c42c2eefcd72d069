// The StreamHouse dashboard: the control plane's REST API in a browser.
import { StrictMode, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { del, get } from './api.js';
import { SignIn, SignUp } from './auth.jsx';
import { Keys } from './keys.jsx';
import { Agents, Organizations } from './ops.jsx';
import { Link, RouterProvider, match, useRoute } from './router.jsx';
import { Groups, TopicDetail, Topics } from './topics.jsx';
import { Audit, Overview, Plan, Usage } from './usage.jsx';
import './style.css';

const PAGES = [
  ['/orgs/:org', Overview, 'Overview'],
  ['/orgs/:org/topics', Topics, 'Topics'],
  ['/orgs/:org/topics/:topic', TopicDetail, null],
  ['/orgs/:org/groups', Groups, 'Consumer groups'],
  ['/orgs/:org/keys', Keys, 'API keys'],
  ['/orgs/:org/usage', Usage, 'Usage'],
  ['/orgs/:org/plan', Plan, 'Plan and invoices'],
  ['/orgs/:org/audit', Audit, 'Audit log'],
];

function Shell({ session, onSignOut }) {
  const { path, go } = useRoute();
  const orgs = session.organizations;
  let page = null;
  let params = {};
  for (const [pattern, Component] of PAGES) {
    const m = match(pattern, path);
    if (m) {
      page = Component;
      params = m;
    }
  }
  const operatorPage = { '/operators/orgs': Organizations, '/operators/agents': Agents }[path];
  const org = params.org ?? orgs[0]?.id;
  useEffect(() => {
    if (!page && !operatorPage) {
      if (org) go(`/orgs/${org}`);
      else if (session.user.operator) go('/operators/orgs');
    }
  });
  const current = orgs.find((o) => o.id === org);
  const Page = page ?? operatorPage;
  return (
    <div className="shell">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header>
        <strong className="brand">StreamHouse</strong>
        {orgs.length > 0 && (
          <label className="org">
            <span className="sr-only">Organization</span>
            <select value={org ?? ''} onChange={(e) => go(`/orgs/${e.target.value}`)}>
              {orgs.map((o) => (
                <option key={o.id} value={o.id}>
                  {o.name}
                </option>
              ))}
            </select>
          </label>
        )}
        <span className="muted user">
          {session.user.email}
          {current && ` · ${current.role}`}
        </span>
        <button className="secondary" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <nav aria-label="Main">
        {org &&
          PAGES.filter(([, , label]) => label).map(([pattern, , label]) => (
            <Link key={pattern} to={pattern.replace(':org', org)}>
              {label}
            </Link>
          ))}
        {session.user.operator && (
          <>
            <span className="nav-heading">Operators</span>
            <Link to="/operators/orgs">Organizations</Link>
            <Link to="/operators/agents">Agents</Link>
          </>
        )}
      </nav>
      <main id="main" tabIndex={-1}>
        {Page && <Page {...params} org={params.org ?? org} role={current?.role} />}
      </main>
    </div>
  );
}

function App() {
  const [session, setSession] = useState(undefined);
  const { path, go } = useRoute();
  useEffect(() => {
    get('/session').then(setSession, () => setSession(null));
  }, []);
  if (session === undefined) return <p className="muted">Loading…</p>;
  const onSession = (s) => {
    setSession(s);
    go(s.organizations[0] ? `/orgs/${s.organizations[0].id}` : '/operators/orgs');
  };
  if (!session) {
    return path === '/signup' ? <SignUp onSession={onSession} /> : <SignIn onSession={onSession} />;
  }
  const signOut = async () => {
    await del('/session').catch(() => {});
    setSession(null);
    go('/signin');
  };
  return <Shell session={session} onSignOut={signOut} />;
}

createRoot(document.getElementById('root')).render(
  <StrictMode>
    <RouterProvider>
      <App />
    </RouterProvider>
  </StrictMode>,
);
