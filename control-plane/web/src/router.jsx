// A small history-API router: the dashboard's paths are few and flat.
import { createContext, useContext, useEffect, useState } from 'react';

const Route = createContext({ path: '/', go: () => {} });

export function RouterProvider({ children }) {
  const [path, setPath] = useState(window.location.pathname);
  useEffect(() => {
    const onPop = () => setPath(window.location.pathname);
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);
  const go = (to) => {
    if (to !== window.location.pathname) window.history.pushState({}, '', to);
    setPath(to);
    window.scrollTo(0, 0);
  };
  return <Route.Provider value={{ path, go }}>{children}</Route.Provider>;
}

export const useRoute = () => useContext(Route);

/** A link that navigates without reloading the page (and with one for a new tab). */
export function Link({ to, children, ...rest }) {
  const { go, path } = useRoute();
  return (
    <a
      href={to}
      aria-current={path === to ? 'page' : undefined}
      onClick={(e) => {
        if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
        e.preventDefault();
        go(to);
      }}
      {...rest}
    >
      {children}
    </a>
  );
}

/** Matches `path` against a pattern such as /orgs/:org/topics/:topic. */
export function match(pattern, path) {
  const p = pattern.split('/');
  const a = path.replace(/\/+$/, '').split('/');
  if (p.length !== a.length) return null;
  const params = {};
  for (let i = 0; i < p.length; i += 1) {
    if (p[i].startsWith(':')) params[p[i].slice(1)] = decodeURIComponent(a[i]);
    else if (p[i] !== a[i]) return null;
  }
  return params;
}
