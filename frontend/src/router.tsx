import type { AnchorHTMLAttributes, ComponentChildren, TargetedMouseEvent } from 'preact';
import { createStore, useStore } from './store';

export interface Loc {
  path: string;
  search: string;
}

function current(): Loc {
  return { path: window.location.pathname, search: window.location.search };
}

export const locationStore = createStore<Loc>(current());

window.addEventListener('popstate', () => locationStore.set(current()));

export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  const url = new URL(to, window.location.origin);
  const target = url.pathname + url.search + url.hash;
  if (target === window.location.pathname + window.location.search + window.location.hash && !opts.replace) {
    locationStore.set(current());
    return;
  }
  if (opts.replace) window.history.replaceState(null, '', target);
  else window.history.pushState(null, '', target);
  locationStore.set(current());
  if (!url.hash) window.scrollTo(0, 0);
}

/** Navigate inside the SPA when the URL is ours, otherwise open it normally. */
export function followUrl(href: string): void {
  try {
    const url = new URL(href, window.location.origin);
    if (url.origin === window.location.origin && !url.pathname.startsWith('/api/') && !url.pathname.startsWith('/media/')) {
      navigate(url.pathname + url.search + url.hash);
      return;
    }
    window.location.assign(url.href);
  } catch {
    /* ignore malformed URLs */
  }
}

export function useLocation(): Loc {
  return useStore(locationStore);
}

export function useQuery(): URLSearchParams {
  return new URLSearchParams(useLocation().search);
}

/** Replace some query parameters of the current URL (empty values are removed). */
export function setQuery(params: Record<string, string | null | undefined>, replace = true): void {
  const q = new URLSearchParams(window.location.search);
  for (const [k, v] of Object.entries(params)) {
    if (v === null || v === undefined || v === '') q.delete(k);
    else q.set(k, v);
  }
  const s = q.toString();
  navigate(window.location.pathname + (s ? `?${s}` : ''), { replace });
}

/** Match "/events/:id" against a path; returns params or null. */
export function matchPath(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split('/').filter(Boolean);
  const s = path.replace(/\/+$/, '').split('/').filter(Boolean);
  if (p.length !== s.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    if (p[i].startsWith(':')) params[p[i].slice(1)] = decodeURIComponent(s[i]);
    else if (p[i] !== s[i]) return null;
  }
  return params;
}

type AnchorProps = Omit<AnchorHTMLAttributes<HTMLAnchorElement>, 'href'> & { href: string; children?: ComponentChildren };

export function Link({ href, onClick, ...rest }: AnchorProps) {
  const handle = (e: TargetedMouseEvent<HTMLAnchorElement>) => {
    if (onClick) (onClick as (e: TargetedMouseEvent<HTMLAnchorElement>) => void)(e);
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(href);
  };
  return <a href={href} onClick={handle} {...(rest as object)} />;
}
