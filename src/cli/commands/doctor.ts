import { styleText } from "node:util";
import { type Command, InvalidArgumentError } from "commander";
import { EXIT } from "../exit.ts";
import {
  bearer,
  call,
  errorMessage,
  type HttpReply,
  NoReplyError,
  parseJson,
  resolveGateway,
  resolveKey,
} from "../gateway-client.ts";
import { showProgress } from "../progress.ts";

/**
 * `tollgate doctor`: checks a gateway URL and key end to end, one step at a time, and says what is wrong.
 * 1. the gateway answers (`GET /health`)          → else exit 3 (unreachable)
 * 2. the key is accepted (`GET /tollgate/usage`)  → else exit 4 (401)
 * 3. a one-token model call goes through           → 402: exit 5 (budget), 502/503/504: exit 6 (upstream)
 */

interface DoctorOptions {
  gateway?: string;
  key?: string;
  model?: string;
  timeout: number;
}

function parseSeconds(value: string): number {
  const seconds = Number(value);
  if (!(seconds > 0 && seconds <= 600)) throw new InvalidArgumentError("must be a number of seconds up to 600");
  return seconds;
}

export function registerDoctor(program: Command): void {
  program
    .command("doctor")
    .description("check the gateway URL and your key end to end, and explain what is wrong")
    .option("--gateway <url>", "gateway URL (env TOLLGATE_URL, default http://127.0.0.1:8080)")
    .option("--key <key>", "your Tollgate key (env TOLLGATE_KEY)")
    .option("--model <model>", "model for the test call (default: the first one the gateway lists)")
    .option("--timeout <seconds>", "limit for the test call", parseSeconds, 30)
    .addHelpText(
      "after",
      `
Exit status: 0 all good, 3 gateway unreachable, 4 key refused, 5 budget exhausted,
6 the gateway's upstream provider failed, 1 anything else.`,
    )
    .action(async (options: DoctorOptions) => {
      process.exitCode = await doctor(options);
    });
}

const out = process.stdout;
const ok = (text: string) => out.write(`${styleText("green", "✓", { stream: out })} ${text}\n`);
const bad = (text: string) => out.write(`${styleText("red", "✗", { stream: out })} ${text}\n`);
const info = (text: string) => out.write(`  ${styleText("dim", text, { stream: out })}\n`);
// The transient "…" line goes to stdout, where doctor's results overwrite it.
let clearProgress = () => {};
const progress = (text: string) => {
  clearProgress = showProgress(text, out);
};

function describeNoReply(err: unknown): string {
  if (err instanceof NoReplyError) {
    if (err.code === "ECONNREFUSED") return "connection refused";
    if (err.code === "ENOTFOUND") return "host not found";
    if (err.code === "ETIMEDOUT") return err.message;
    return `${err.code}: ${err.message}`;
  }
  return err instanceof Error ? err.message : String(err);
}

interface Budget {
  name?: string;
  limitUsd?: string;
  spentUsd?: string;
  remainingUsd?: string;
  period?: string;
  resetsAt?: string | null;
  scope?: { type?: string; name?: string | null };
}

/** Decimal USD text → `$12.50`, `$0.0001225`: exact, trailing zeros dropped, at least cents. */
function usd(text: string | undefined): string {
  if (text === undefined) return "$?";
  const [whole = "0", fraction = ""] = text.split(".");
  return `$${whole}.${fraction.replace(/0+$/, "").padEnd(2, "0")}`;
}

function describeBudget(b: Budget): string {
  const scope = b.scope?.type && b.scope.type !== "key" ? ` (${b.scope.type} ${b.scope.name ?? ""})`.trimEnd() : "";
  const reset = b.resetsAt ? `, resets ${b.resetsAt}` : "";
  return `budget "${b.name}"${scope}: ${usd(b.spentUsd)} of ${usd(b.limitUsd)} per ${b.period} spent, ${usd(b.remainingUsd)} left${reset}`;
}

async function doctor(options: DoctorOptions): Promise<number> {
  const gateway = resolveGateway(options.gateway);
  const key = resolveKey(options.key);

  // 1. Reachable, and a Tollgate gateway.
  progress(`connecting to ${gateway}`);
  let health: HttpReply;
  try {
    health = await call(`${gateway}/health`, { timeoutMs: 5000 });
  } catch (err) {
    clearProgress();
    bad(`gateway down: cannot reach ${gateway} (${describeNoReply(err)})`);
    info("Is `tollgate start` running there? Check --gateway / TOLLGATE_URL.");
    return EXIT.unreachable;
  }
  clearProgress();
  const healthBody = parseJson(health.text) as { status?: unknown; version?: unknown } | undefined;
  if (health.status !== 200 || healthBody?.status !== "ok") {
    bad(`${gateway} answers, but not as a Tollgate gateway (GET /health → ${health.status})`);
    info("Check --gateway / TOLLGATE_URL: it should be the gateway's root URL.");
    return EXIT.unreachable;
  }
  ok(`gateway ${gateway} is up (Tollgate ${String(healthBody.version ?? "?")})`);

  // 2. The key.
  if (key === null) {
    info("no key given (--key or TOLLGATE_KEY): testing anonymous access");
  } else {
    let reply: HttpReply;
    try {
      reply = await call(`${gateway}/tollgate/usage`, { headers: bearer(key), timeoutMs: 5000 });
    } catch (err) {
      bad(`gateway stopped answering: ${describeNoReply(err)}`);
      return EXIT.unreachable;
    }
    if (reply.status === 401) {
      bad(`bad key: the gateway refused it (${errorMessage(reply)})`);
      info("Ask your platform team for a key (`tollgate keys create`), or check TOLLGATE_KEY.");
      return EXIT.unauthorized;
    }
    const body = parseJson(reply.text) as
      | { key?: { name?: string; team?: { name?: string } | null }; budgets?: Budget[] }
      | undefined;
    if (reply.status === 200 && body) {
      ok(`key "${body.key?.name ?? "?"}" accepted${body.key?.team?.name ? ` (team ${body.key.team.name})` : ""}`);
      for (const b of body.budgets ?? []) info(describeBudget(b));
    } else {
      info(`could not read the key's usage (GET /tollgate/usage → ${reply.status})`);
    }
  }

  // 3. A real call, as small as possible.
  let model = options.model;
  if (!model) {
    const listed = await call(`${gateway}/v1/models`, { headers: bearer(key), timeoutMs: 10_000 }).catch(() => null);
    const ids = ((parseJson(listed?.text ?? "") as { data?: Array<{ id?: unknown }> } | undefined)?.data ?? [])
      .map((m) => m.id)
      .filter((id): id is string => typeof id === "string");
    model = ids[0];
    if (!model) {
      bad("the gateway lists no models: no provider is configured, or none answered its model list");
      info("Configure a provider (e.g. ANTHROPIC_API_KEY for `tollgate start`), or pass --model to test one.");
      return EXIT.upstream;
    }
  }
  progress(`calling ${model} through the gateway`);
  const started = Date.now();
  let reply: HttpReply;
  try {
    reply = await call(`${gateway}/v1/chat/completions`, {
      method: "POST",
      headers: { ...bearer(key), "content-type": "application/json", "user-agent": "tollgate-doctor" },
      body: JSON.stringify({
        model,
        messages: [{ role: "user", content: "Reply with OK." }],
        max_completion_tokens: 16,
        stream: false,
      }),
      timeoutMs: options.timeout * 1000,
    });
  } catch (err) {
    clearProgress();
    bad(`the test call got no answer: ${describeNoReply(err)}`);
    return err instanceof NoReplyError && err.code === "ETIMEDOUT" ? EXIT.upstream : EXIT.unreachable;
  }
  clearProgress();
  return judgeCall(model, reply, Date.now() - started);
}

function judgeCall(model: string, reply: HttpReply, ms: number): number {
  const code = String(reply.headers["x-tollgate-error-code"] ?? "");
  const message = errorMessage(reply);
  if (reply.status === 200) {
    const cost = reply.headers["x-tollgate-cost-usd"];
    ok(`a test call to ${model} went through in ${ms} ms${cost ? ` (cost ${usd(String(cost))})` : ""}`);
    return EXIT.ok;
  }
  if (reply.status === 401 || reply.status === 403) {
    bad(`${reply.status === 401 ? "bad key" : "key not allowed"}: ${message}`);
    return EXIT.unauthorized;
  }
  if (reply.status === 402) {
    bad(`budget exhausted: ${message}`);
    info("Wait for the budget to reset, or ask for a higher limit.");
    return EXIT.budgetExhausted;
  }
  if (reply.status === 429) {
    bad(`rate limited: ${message}`);
    return EXIT.failure;
  }
  if (reply.status === 502 || reply.status === 503 || reply.status === 504) {
    const what =
      code === "TG_PROVIDER_AUTH"
        ? "the provider refused the gateway's own API key"
        : code === "TG_NO_PROVIDER_KEY"
          ? "the gateway has no API key for this model's provider"
          : "upstream provider unreachable";
    bad(`${what}: ${message}${code ? ` (${code})` : ""}`);
    info("The gateway is fine; the provider behind it is not answering. Check the provider's base URL and status.");
    return EXIT.upstream;
  }
  bad(`the test call to ${model} failed with ${reply.status}: ${message}${code ? ` (${code})` : ""}`);
  if (code === "TG_UNKNOWN_MODEL") info("Pass --model with a model the gateway knows.");
  return EXIT.failure;
}
