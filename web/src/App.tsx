import { useEffect, useState } from "react";
import { api, setUnauthorizedHandler, storedToken, storeToken } from "./api.ts";
import { Check, ErrorText, SecretField, useSubmit } from "./form.tsx";
import { NamesProvider } from "./names.tsx";
import { EntitiesPage } from "./pages/Entities.tsx";
import { KeysPage } from "./pages/Keys.tsx";
import { LogsPage } from "./pages/Logs.tsx";
import { OverviewPage } from "./pages/Overview.tsx";
import { ProvidersPage } from "./pages/Providers.tsx";
import { RoutingPage } from "./pages/Routing.tsx";
import { SessionsPage } from "./pages/Sessions.tsx";
import { SettingsPage } from "./pages/Settings.tsx";
import { href, type Route, useRoute } from "./router.ts";

const NAV = [
  ["overview", "Overview"],
  ["logs", "Logs"],
  ["sessions", "Sessions"],
  ["keys", "Keys"],
  ["developers", "Developers"],
  ["teams", "Teams"],
  ["customers", "Customers"],
  ["providers", "Providers"],
  ["routing", "Routing rules"],
  ["settings", "Settings"],
] as const;

type Theme = "light" | "dark" | "system";

function useTheme(): [Theme, (t: Theme) => void] {
  const [theme, setTheme] = useState<Theme>(() => (localStorage.getItem("tollgate.theme") as Theme | null) ?? "system");
  useEffect(() => {
    if (theme === "system") document.documentElement.removeAttribute("data-theme");
    else document.documentElement.setAttribute("data-theme", theme);
    localStorage.setItem("tollgate.theme", theme);
  }, [theme]);
  return [theme, setTheme];
}

export function App() {
  const [token, setToken] = useState<string | null>(() => storedToken());
  const [theme, setTheme] = useTheme();
  const route = useRoute();
  useEffect(() => {
    setUnauthorizedHandler(() => {
      storeToken(null);
      setToken(null);
    });
  }, []);
  // A new page moves focus to its content, so keyboard and screen-reader users start there.
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs per page change only
  useEffect(() => {
    if (token !== null) document.getElementById("main")?.focus({ preventScroll: true });
  }, [route.page, route.id]);
  if (token === null) return <SignIn onSignedIn={setToken} />;
  const title = NAV.find(([p]) => p === route.page)?.[1] ?? "Not found";
  return (
    <NamesProvider>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <div className="shell">
        <header className="top">
          <a className="brand" href={href("overview")}>
            <img src="/favicon.svg" alt="" width="24" height="24" /> Tollgate
          </a>
          <div className="top-actions">
            <label className="sr-only" htmlFor="theme">
              Theme
            </label>
            <select id="theme" value={theme} onChange={(e) => setTheme(e.target.value as Theme)}>
              <option value="system">System theme</option>
              <option value="light">Light</option>
              <option value="dark">Dark</option>
            </select>
            <button
              type="button"
              className="secondary"
              onClick={() => {
                storeToken(null);
                setToken(null);
              }}
            >
              Sign out
            </button>
          </div>
        </header>
        <nav className="side" aria-label="Main">
          <ul>
            {NAV.map(([page, label]) => (
              <li key={page}>
                <a href={href(page)} aria-current={route.page === page ? "page" : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <main id="main" tabIndex={-1}>
          <h1>{title}</h1>
          <PageFor route={route} />
        </main>
      </div>
    </NamesProvider>
  );
}

function PageFor({ route }: { route: Route }) {
  switch (route.page) {
    case "overview":
      return <OverviewPage />;
    case "logs":
      return <LogsPage route={route} />;
    case "sessions":
      return <SessionsPage route={route} />;
    case "keys":
      return <KeysPage />;
    case "developers":
    case "teams":
    case "customers":
      return <EntitiesPage kind={route.page} />;
    case "providers":
      return <ProvidersPage />;
    case "routing":
      return <RoutingPage />;
    case "settings":
      return <SettingsPage />;
    default:
      return (
        <p>
          No such page. <a href={href("overview")}>Go to the overview.</a>
        </p>
      );
  }
}

function SignIn({ onSignedIn }: { onSignedIn: (token: string) => void }) {
  const [value, setValue] = useState("");
  const [remember, setRemember] = useState(false);
  const { submit, error, busy } = useSubmit(async () => {
    // Any admin route proves the token; the cache settings are the cheapest.
    await api("/api/cache", { token: value.trim() });
    storeToken(value.trim(), remember);
    onSignedIn(value.trim());
  });
  return (
    <main className="signin" id="main">
      <form onSubmit={submit} className="card">
        <h1>
          <img src="/favicon.svg" alt="" width="28" height="28" /> Tollgate
        </h1>
        <p className="muted">Sign in with the admin token (printed at first start, kept in .tollgate/admin-token).</p>
        <SecretField label="Admin token" autoComplete="current-password" required value={value} onChange={setValue} />
        <Check label="Remember on this device" checked={remember} onChange={setRemember} />
        <ErrorText error={error} />
        <button type="submit" disabled={busy || value.trim() === ""}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}
