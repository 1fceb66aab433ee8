import { createStore } from './store';

/** The colour theme: the system's (`prefers-color-scheme`) unless chosen. */
export type Theme = 'system' | 'light' | 'dark';

const KEY = 'afisha.theme';
export const THEMES: Theme[] = ['system', 'light', 'dark'];

function saved(): Theme {
  try {
    const v = localStorage.getItem(KEY);
    if (v === 'light' || v === 'dark') return v;
  } catch {
    /* storage unavailable */
  }
  return 'system';
}

/** styles.css reads `html[data-theme]`; absent = follow the system. */
function apply(theme: Theme): void {
  if (theme === 'system') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = theme;
}

export const themeStore = createStore<Theme>(saved());
apply(themeStore.get());

export function setTheme(theme: Theme): void {
  try {
    if (theme === 'system') localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, theme);
  } catch {
    /* ignore */
  }
  apply(theme);
  themeStore.set(theme);
}
