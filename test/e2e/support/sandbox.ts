import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";

/** Fresh, throwaway home and working folders for one CLI run: no user config, login or history leaks in. */
export interface Sandbox {
  root: string;
  home: string;
  /** The CLI's working directory (the "project" it works in). */
  workDir: string;
  xdgConfig: string;
  xdgData: string;
  xdgCache: string;
  xdgState: string;
  /**
   * A minimal environment: nothing inherited but PATH (so real API keys, proxies or CI settings of the machine
   * cannot change what the CLI does), every outbound proxy pointed at the trap proxy, localhost exempt.
   */
  env(extra: Record<string, string>): NodeJS.ProcessEnv;
  cleanup(): Promise<void>;
}

const LOCAL_HOSTS = "127.0.0.1,localhost,::1";

export async function createSandbox(trapProxyUrl: string): Promise<Sandbox> {
  const root = await mkdtemp(join(tmpdir(), "tollgate-e2e-"));
  const dirs = {
    home: join(root, "home"),
    workDir: join(root, "work"),
    xdgConfig: join(root, "xdg", "config"),
    xdgData: join(root, "xdg", "data"),
    xdgCache: join(root, "xdg", "cache"),
    xdgState: join(root, "xdg", "state"),
  };
  for (const dir of Object.values(dirs)) await mkdir(dir, { recursive: true });
  // The CLIs' shell tools and Gemini CLI's `#!/usr/bin/env node` need the node running the tests first on PATH.
  const path = [dirname(process.execPath), process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin"].join(delimiter);
  const base: Record<string, string> = {
    PATH: path,
    HOME: dirs.home,
    USER: "tollgate-e2e",
    LOGNAME: "tollgate-e2e",
    SHELL: "/bin/bash",
    LANG: "C.UTF-8",
    TERM: "dumb",
    NO_COLOR: "1",
    XDG_CONFIG_HOME: dirs.xdgConfig,
    XDG_DATA_HOME: dirs.xdgData,
    XDG_CACHE_HOME: dirs.xdgCache,
    XDG_STATE_HOME: dirs.xdgState,
    HTTP_PROXY: trapProxyUrl,
    HTTPS_PROXY: trapProxyUrl,
    ALL_PROXY: trapProxyUrl,
    http_proxy: trapProxyUrl,
    https_proxy: trapProxyUrl,
    all_proxy: trapProxyUrl,
    NO_PROXY: LOCAL_HOSTS,
    no_proxy: LOCAL_HOSTS,
  };
  return {
    root,
    ...dirs,
    env: (extra) => ({ ...base, ...extra }),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}
