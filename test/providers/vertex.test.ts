import assert from "node:assert/strict";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ManualClock } from "../../src/clock.ts";
import { ConfigError, loadConfig } from "../../src/config/load.ts";
import { authHeaders, upstreamUrl } from "../../src/providers/endpoints.ts";
import {
  CachedAccessToken,
  jwtBearerMinter,
  type MintedToken,
  parseServiceAccount,
} from "../../src/providers/google-auth.ts";
import { ProviderRegistry } from "../../src/providers/registry.ts";
import { adaptUpstreamBody } from "../../src/providers/upstream-body.ts";
import { vertexBaseUrl, vertexProvider } from "../../src/providers/vertex.ts";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream } from "../fixtures/mock-upstream/types.ts";
import { testServiceAccount } from "../helpers/google-credentials.ts";

const STATIC_TOKEN = { id: "sa-test", token: () => "tok", rejected: () => undefined };

function provider(region = "us-east5") {
  return vertexProvider({
    name: "vertex",
    project: "my-project",
    region,
    tokenAuth: STATIC_TOKEN,
    source: "config",
  });
}

/** A minter the test resolves by hand: each call waits until `resolve` is called for it. */
function manualMinter() {
  const pending: { resolve: (t: MintedToken) => void; reject: (e: Error) => void }[] = [];
  return {
    mint: () => new Promise<MintedToken>((resolve, reject) => pending.push({ resolve, reject })),
    pending,
  };
}

async function tick(): Promise<void> {
  await new Promise((r) => setImmediate(r));
}

describe("Vertex AI endpoints", () => {
  it("derives the API root from the region, as Anthropic's Vertex SDK does", () => {
    assert.equal(vertexBaseUrl("us-east5"), "https://us-east5-aiplatform.googleapis.com/v1");
    assert.equal(vertexBaseUrl("global"), "https://aiplatform.googleapis.com/v1");
    assert.equal(vertexBaseUrl("eu"), "https://aiplatform.eu.rep.googleapis.com/v1");
    assert.equal(provider("global").baseUrl, "https://aiplatform.googleapis.com/v1");
  });

  it("sends Claude to the Anthropic publisher, rawPredict or streamRawPredict by the stream flag", () => {
    const p = provider();
    const root = "https://us-east5-aiplatform.googleapis.com/v1/projects/my-project/locations/us-east5/publishers";
    const model = "claude-sonnet-4-5@20250929";
    assert.equal(
      upstreamUrl(p, "messages", model, "?beta=true", undefined, false),
      `${root}/anthropic/models/${model}:rawPredict`,
    );
    assert.equal(
      upstreamUrl(p, "messages", model, "", undefined, true),
      `${root}/anthropic/models/${model}:streamRawPredict`,
    );
    assert.equal(upstreamUrl(p, "count_tokens", model, ""), `${root}/anthropic/models/count-tokens:rawPredict`);
  });

  it("sends Gemini to the Google publisher, keeping the stream's ?alt=sse", () => {
    const p = provider("global");
    const root = "https://aiplatform.googleapis.com/v1/projects/my-project/locations/global/publishers/google/models";
    assert.equal(upstreamUrl(p, "generateContent", "gemini-2.5-pro", ""), `${root}/gemini-2.5-pro:generateContent`);
    assert.equal(
      upstreamUrl(p, "streamGenerateContent", "gemini-2.5-pro", "?alt=sse"),
      `${root}/gemini-2.5-pro:streamGenerateContent?alt=sse`,
    );
    assert.throws(() => upstreamUrl(p, "chat", "gemini-2.5-pro", ""), /no endpoint for chat/);
  });

  it("carries the minted token as a bearer token", () => {
    assert.deepEqual(authHeaders(provider(), "ya29.x"), { authorization: "Bearer ya29.x" });
  });

  it("speaks the model's dialect: Claude is translated to from Chat, embeddings are refused", () => {
    const registry = new ProviderRegistry([provider()]);
    const claude = registry.resolve("vertex/claude-opus-4-1@20250805", "openai-chat");
    assert.equal(claude.upstreamModel, "claude-opus-4-1@20250805");
    assert.equal(registry.resolve("vertex/gemini-2.5-flash", "gemini").provider.name, "vertex");
    assert.throws(
      () => registry.resolve("vertex/claude-opus-4-1@20250805", "openai-embeddings"),
      /speaks anthropic; this route speaks openai-embeddings/,
    );
  });
});

describe("Vertex AI Anthropic bodies", () => {
  const adapt = (body: string, op: "messages" | "count_tokens" = "messages") =>
    adaptUpstreamBody(provider(), op, "claude-x", Buffer.from(body)).toString();

  it("moves the model out of the body and adds anthropic_version", () => {
    assert.equal(
      adapt('{"model":"claude-x","max_tokens":5,"messages":[]}'),
      '{"anthropic_version":"vertex-2023-10-16","max_tokens":5,"messages":[]}',
    );
    // The last member: its comma goes with it; the client's spacing stays.
    assert.equal(
      adapt('{ "max_tokens": 5, "messages": [] , "model" : "claude-x" }'),
      '{"anthropic_version":"vertex-2023-10-16", "max_tokens": 5, "messages": []  }',
    );
    assert.equal(adapt('{"model":"claude-x"}'), '{"anthropic_version":"vertex-2023-10-16"}');
  });

  it("keeps a client's own anthropic_version, and count_tokens' model", () => {
    assert.equal(
      adapt('{"anthropic_version":"vertex-2023-10-16","model":"m","messages":[]}'),
      '{"anthropic_version":"vertex-2023-10-16","messages":[]}',
    );
    assert.equal(
      adapt('{"model":"claude-x","messages":[]}', "count_tokens"),
      '{"anthropic_version":"vertex-2023-10-16","model":"claude-x","messages":[]}',
    );
  });

  it("rewrites a large body without changing anything else in it", () => {
    const text = "x".repeat(200_000);
    const raw = `{"messages":[{"role":"user","content":${JSON.stringify(text)}}],"model":"claude-x","max_tokens":1}`;
    const out = JSON.parse(adapt(raw));
    assert.deepEqual(out, {
      anthropic_version: "vertex-2023-10-16",
      messages: [{ role: "user", content: text }],
      max_tokens: 1,
    });
  });

  it("leaves Gemini bodies alone", () => {
    const raw = Buffer.from('{"contents":[]}');
    assert.equal(adaptUpstreamBody(provider(), "generateContent", "gemini-2.5-pro", raw), raw);
  });
});

describe("service-account keys", () => {
  it("accepts a service-account key file and names what is wrong with others", () => {
    const account = testServiceAccount("parse");
    const parsed = parseServiceAccount(account.keyFile("http://127.0.0.1:1/token"), "key.json");
    assert.equal(parsed.clientEmail, account.clientEmail);
    assert.equal(parsed.projectId, "tollgate-test");
    assert.equal(parsed.tokenUri, "http://127.0.0.1:1/token");
    assert.throws(() => parseServiceAccount({ type: "authorized_user" }, "key.json"), /not a service-account key/);
    assert.throws(
      () => parseServiceAccount({ type: "service_account", client_email: "a@b" }, "key.json"),
      /no PEM "private_key"/,
    );
    const { token_uri: _uri, ...noUri } = account.keyFile("x");
    assert.equal(parseServiceAccount(noUri, "key.json").tokenUri, "https://oauth2.googleapis.com/token");
  });
});

describe("CachedAccessToken", () => {
  it("makes only the first request wait, then answers from the cache synchronously", async () => {
    const clock = new ManualClock();
    const minter = manualMinter();
    const tokens = new CachedAccessToken("sa", minter.mint, { clock });
    const first = tokens.token();
    const second = tokens.token();
    assert.ok(first instanceof Promise);
    assert.equal(minter.pending.length, 1, "concurrent first requests share one mint");
    minter.pending[0]?.resolve({ token: "t1", expiresInMs: 3_600_000 });
    assert.equal(await first, "t1");
    assert.equal(await second, "t1");
    assert.equal(tokens.token(), "t1");
    tokens.close();
  });

  it("refreshes ahead of expiry in the background while requests keep the valid token", async () => {
    const clock = new ManualClock();
    const minter = manualMinter();
    const tokens = new CachedAccessToken("sa", minter.mint, { clock, refreshMarginMs: 5 * 60_000 });
    const first = tokens.token();
    minter.pending[0]?.resolve({ token: "t1", expiresInMs: 3_600_000 });
    await first;
    clock.advance(54 * 60_000);
    assert.equal(tokens.token(), "t1");
    assert.equal(minter.pending.length, 1, "no refresh before the margin");
    clock.advance(2 * 60_000); // 4 minutes left: inside the 5-minute margin
    assert.equal(tokens.token(), "t1", "the request is not blocked by the refresh");
    assert.equal(tokens.token(), "t1");
    assert.equal(minter.pending.length, 2, "one refresh, however many requests");
    minter.pending[1]?.resolve({ token: "t2", expiresInMs: 3_600_000 });
    await tick();
    assert.equal(tokens.token(), "t2");
    tokens.close();
  });

  it("keeps the old token when a background refresh fails, and waits only once it has lapsed", async () => {
    const clock = new ManualClock();
    const minter = manualMinter();
    const tokens = new CachedAccessToken("sa", minter.mint, { clock });
    const first = tokens.token();
    minter.pending[0]?.resolve({ token: "t1", expiresInMs: 600_000 });
    await first;
    clock.advance(400_000);
    assert.equal(tokens.token(), "t1");
    minter.pending[1]?.reject(new Error("invalid_grant: Invalid JWT Signature."));
    await tick();
    assert.match(tokens.lastError?.message ?? "", /invalid_grant/);
    assert.equal(tokens.token(), "t1");
    clock.advance(200_000); // lapsed
    const waiting = tokens.token();
    assert.ok(waiting instanceof Promise);
    minter.pending.at(-1)?.reject(new Error("invalid_grant: Invalid JWT Signature."));
    await assert.rejects(waiting, /invalid_grant/);
    tokens.close();
  });

  it("replaces a token the upstream refused, and ignores refusals of an older one", async () => {
    const clock = new ManualClock();
    const minter = manualMinter();
    const tokens = new CachedAccessToken("sa", minter.mint, { clock });
    const first = tokens.token();
    minter.pending[0]?.resolve({ token: "t1", expiresInMs: 3_600_000 });
    await first;
    tokens.rejected("t1");
    assert.equal(minter.pending.length, 2);
    assert.equal(tokens.token(), "t1");
    minter.pending[1]?.resolve({ token: "t2", expiresInMs: 3_600_000 });
    await tick();
    tokens.rejected("t1");
    assert.equal(minter.pending.length, 2, "a late 401 for the replaced token mints nothing");
    assert.equal(tokens.token(), "t2");
    tokens.close();
  });
});

describe("the JWT bearer grant (google-auth-library) against the mock token endpoint", () => {
  const account = testServiceAccount("minter");
  const stranger = testServiceAccount("minter-stranger");
  let mock: MockUpstream;

  before(async () => {
    mock = await startMockUpstream({
      google: {
        serviceAccounts: [{ clientEmail: account.clientEmail, publicKey: account.publicKeyPem }],
        tokenLifetimeS: 1800,
      },
    });
  });
  after(() => mock.close());

  it("posts a signed assertion to the key's token_uri and gets a token with its lifetime", async () => {
    const mint = jwtBearerMinter(parseServiceAccount(account.keyFile(`${mock.url}/token`), "key.json"));
    const minted = await mint();
    assert.equal(minted.token, mock.google.issued.at(-1));
    assert.ok(minted.expiresInMs > 1_790_000 && minted.expiresInMs <= 1_800_000, String(minted.expiresInMs));
    const grant = mock.requests.at(-1);
    assert.equal(grant?.path, "/token");
    const form = new URLSearchParams(grant?.body.toString());
    assert.equal(form.get("grant_type"), "urn:ietf:params:oauth:grant-type:jwt-bearer");
    const claims = JSON.parse(Buffer.from(form.get("assertion")?.split(".")[1] ?? "", "base64url").toString());
    assert.equal(claims.iss, account.clientEmail);
    assert.equal(claims.scope, "https://www.googleapis.com/auth/cloud-platform");
  });

  it("surfaces the endpoint's refusal of a key it cannot verify", async () => {
    const mint = jwtBearerMinter(parseServiceAccount(stranger.keyFile(`${mock.url}/token`), "key.json"));
    await assert.rejects(mint(), /invalid_grant: Invalid grant: account not found/);
    // Same account, wrong key: the signature check fails.
    const forged = { ...stranger.keyFile(`${mock.url}/token`), client_email: account.clientEmail };
    await assert.rejects(
      jwtBearerMinter(parseServiceAccount(forged, "key.json"))(),
      /invalid_grant: Invalid JWT Signature/,
    );
  });
});

describe("Vertex AI configuration", () => {
  it("builds the provider from a key file: project from the file, region global by default", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tollgate-vertex-config-"));
    const keyPath = await testServiceAccount("config").writeKeyFile(dir, "http://127.0.0.1:1/token", "from-key-file");
    const path = join(dir, "tollgate.json");
    await writeFile(path, JSON.stringify({ providers: { vertex: { credentialsFile: keyPath } } }));
    const c = await loadConfig({ env: { TOLLGATE_CONFIG: path } });
    const vertex = c.providers.find((p) => p.name === "vertex");
    assert.deepEqual(vertex?.vertex, { project: "from-key-file", region: "global" });
    assert.equal(vertex?.baseUrl, "https://aiplatform.googleapis.com/v1");
    assert.equal(vertex?.pricingId, "google");
    assert.match(vertex?.tokenAuth?.id ?? "", /^sa-/);
    // From the environment: TOLLGATE_VERTEX_PROJECT opts in.
    const fromEnv = await loadConfig({
      env: {
        TOLLGATE_VERTEX_PROJECT: "p",
        TOLLGATE_VERTEX_REGION: "europe-west1",
        GOOGLE_APPLICATION_CREDENTIALS: keyPath,
      },
    });
    assert.deepEqual(fromEnv.providers.find((p) => p.name === "vertex")?.vertex, {
      project: "p",
      region: "europe-west1",
    });
    const withoutOptIn = await loadConfig({ env: { GOOGLE_APPLICATION_CREDENTIALS: keyPath } });
    assert.equal(withoutOptIn.providers.length, 0);
  });

  it("explains a missing or unusable key", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tollgate-vertex-config-"));
    const write = async (config: unknown) => {
      const path = join(dir, `c${Math.random()}.json`);
      await writeFile(path, JSON.stringify(config));
      return path;
    };
    await assert.rejects(
      loadConfig({ env: { TOLLGATE_CONFIG: await write({ providers: { vertex: { project: "p" } } }) } }),
      (err: unknown) => err instanceof ConfigError && /needs a service-account key/.test(err.message),
    );
    const userCreds = join(dir, "adc.json");
    await writeFile(userCreds, JSON.stringify({ type: "authorized_user", refresh_token: "x" }));
    await assert.rejects(
      loadConfig({ env: { TOLLGATE_CONFIG: await write({ providers: { vertex: { credentialsFile: userCreds } } }) } }),
      (err: unknown) => err instanceof ConfigError && /not a service-account key/.test(err.message),
    );
    await assert.rejects(
      loadConfig({
        env: {
          TOLLGATE_CONFIG: await write({ providers: { vertex: { credentialsFile: userCreds, apiKeys: ["k"] } } }),
        },
      }),
      (err: unknown) => err instanceof ConfigError && /not "apiKeys"/.test(err.message),
    );
  });
});
