import assert from "node:assert/strict";
import { createSign } from "node:crypto";
import { after, before, beforeEach, describe, it } from "node:test";
import { type MockUpstream, startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import { testServiceAccount } from "../helpers/google-credentials.ts";
import { rawRequest } from "./helpers.ts";

const account = testServiceAccount("mock-cloud");
let mock: MockUpstream;

before(async () => {
  mock = await startMockUpstream({
    google: { serviceAccounts: [{ clientEmail: account.clientEmail, publicKey: account.publicKeyPem }] },
    cloud: { azureDeployments: { dep: "gpt-4.1-2025-04-14" }, vertexProject: "proj" },
  });
});
after(() => mock.close());
beforeEach(() => mock.reset());

/** A JWT bearer assertion as a service account signs it. */
function assertion(claims: Record<string, unknown>, signer = account.privateKeyPem): string {
  const now = Math.floor(Date.now() / 1000);
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const unsigned = `${part({ alg: "RS256", typ: "JWT" })}.${part({
    iss: account.clientEmail,
    scope: "https://www.googleapis.com/auth/cloud-platform",
    aud: "https://oauth2.googleapis.com/token",
    iat: now,
    exp: now + 3600,
    ...claims,
  })}`;
  const signature = createSign("RSA-SHA256").update(unsigned).sign(signer).toString("base64url");
  return `${unsigned}.${signature}`;
}

async function grant(jwt: string, grantType = "urn:ietf:params:oauth:grant-type:jwt-bearer") {
  const res = await rawRequest(`${mock.url}/token`, {
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: grantType, assertion: jwt }).toString(),
  });
  return { status: res.status, json: JSON.parse(res.body.toString()) as Record<string, unknown> };
}

const json = (body: unknown) => JSON.stringify(body);
const VERTEX = `/v1/projects/proj/locations/us-east5/publishers`;
const MESSAGES = { max_tokens: 10, messages: [{ role: "user", content: "hi" }] };

describe("mock upstream: Google token endpoint", () => {
  it("issues a token for a correctly signed grant and refuses the rest as Google does", async () => {
    const ok = await grant(assertion({}));
    assert.equal(ok.status, 200);
    assert.match(String(ok.json.access_token), /^ya29\.mock-/);
    assert.equal(ok.json.expires_in, 3599);
    const other = testServiceAccount("mock-cloud-other");
    const cases: [string, string, string][] = [
      [assertion({}, other.privateKeyPem), "invalid_grant", "Invalid JWT Signature."],
      [assertion({ aud: "https://example.com" }), "invalid_grant", "audience"],
      [assertion({ exp: Math.floor(Date.now() / 1000) + 7200 }), "invalid_grant", "short-lived"],
      [assertion({ iss: "nobody@x.iam.gserviceaccount.com" }), "invalid_grant", "account not found"],
      [assertion({ scope: "openid" }), "invalid_scope", "Invalid OAuth scope"],
    ];
    for (const [jwt, error, description] of cases) {
      const refused = await grant(jwt);
      assert.equal(refused.status, 400);
      assert.equal(refused.json.error, error);
      assert.match(String(refused.json.error_description), new RegExp(description));
    }
    assert.equal((await grant(assertion({}), "password")).json.error, "unsupported_grant_type");
  });
});

describe("mock upstream: Vertex AI", () => {
  let token = "";
  beforeEach(async () => {
    token = String((await grant(assertion({}))).json.access_token);
  });
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    rawRequest(`${mock.url}${path}`, {
      headers: { "content-type": "application/json", authorization: `Bearer ${token}`, ...headers },
      body: json(body),
    });

  it("answers rawPredict in the Anthropic shape, with the path's model", async () => {
    const res = await post(`${VERTEX}/anthropic/models/claude-sonnet-4-5@20250929:rawPredict`, {
      anthropic_version: "vertex-2023-10-16",
      ...MESSAGES,
    });
    assert.equal(res.status, 200);
    assert.equal(JSON.parse(res.body.toString()).model, "claude-sonnet-4-5@20250929");
  });

  it("refuses a missing, unknown or revoked token, and another project", async () => {
    const path = `${VERTEX}/anthropic/models/claude-x:rawPredict`;
    const body = { anthropic_version: "vertex-2023-10-16", ...MESSAGES };
    const missing = await rawRequest(`${mock.url}${path}`, {
      headers: { "content-type": "application/json" },
      body: json(body),
    });
    assert.equal(missing.status, 401);
    assert.match(missing.body.toString(), /missing required authentication credential/);
    assert.equal((await post(path, body, { authorization: "Bearer ya29.forged" })).status, 401);
    mock.google.revoke(token);
    const revoked = await post(path, body);
    assert.equal(revoked.status, 401);
    assert.equal(JSON.parse(revoked.body.toString()).error.status, "UNAUTHENTICATED");
    token = String((await grant(assertion({}))).json.access_token);
    const elsewhere = await post(path.replace("/proj/", "/other/"), body);
    assert.equal(elsewhere.status, 403);
  });

  it("checks the Vertex body: no model, the vertex anthropic_version, stream matching the method", async () => {
    const path = `${VERTEX}/anthropic/models/claude-x:rawPredict`;
    const cases: [string, unknown, RegExp][] = [
      [path, { model: "claude-x", anthropic_version: "vertex-2023-10-16", ...MESSAGES }, /model: Extra inputs/],
      [path, MESSAGES, /anthropic_version: Field required/],
      [path, { anthropic_version: "2023-06-01", ...MESSAGES }, /Input should be 'vertex-2023-10-16'/],
      [path, { anthropic_version: "vertex-2023-10-16", stream: true, ...MESSAGES }, /streamRawPredict/],
      [
        path.replace(":rawPredict", ":streamRawPredict"),
        { anthropic_version: "vertex-2023-10-16", ...MESSAGES },
        /stream: true/,
      ],
      [path, { anthropic_version: "vertex-2023-10-16", messages: [] }, /max_tokens: Field required/],
    ];
    for (const [p, body, message] of cases) {
      const res = await post(p, body);
      assert.equal(res.status, 400, String(message));
      assert.equal(JSON.parse(res.body.toString()).error.type, "invalid_request_error");
      assert.match(res.body.toString(), message);
    }
  });
});

describe("mock upstream: Azure OpenAI", () => {
  const chat = { messages: [{ role: "user", content: "hi" }] };
  const post = (path: string, body: unknown, headers: Record<string, string> = { "api-key": "k" }) =>
    rawRequest(`${mock.url}${path}`, { headers: { "content-type": "application/json", ...headers }, body: json(body) });

  it("serves a deployment URL (model optional) reporting the deployment's model, stream opening with the prompt filter", async () => {
    const res = await post("/openai/deployments/dep/chat/completions?api-version=2024-10-21", chat);
    assert.equal(res.status, 200);
    assert.equal(JSON.parse(res.body.toString()).model, "gpt-4.1-2025-04-14");
    const stream = await post("/openai/deployments/dep/chat/completions?api-version=2024-10-21", {
      ...chat,
      stream: true,
    });
    const first = stream.body.toString().split("\n\n")[0] ?? "";
    assert.match(first, /"prompt_filter_results"/);
  });

  it("refuses what Azure refuses: no api-key, no api-version, an unknown deployment, a dated version on v1", async () => {
    const denied = await post("/openai/deployments/dep/chat/completions?api-version=2024-10-21", chat, {
      authorization: "Bearer k",
    });
    assert.equal(denied.status, 401);
    assert.match(denied.body.toString(), /Access denied due to invalid subscription key/);
    const noVersion = await post("/openai/deployments/dep/chat/completions", chat);
    assert.equal(noVersion.status, 404);
    assert.equal(JSON.parse(noVersion.body.toString()).error.message, "Resource not found");
    const unknown = await post("/openai/deployments/nope/chat/completions?api-version=2024-10-21", chat);
    assert.equal(JSON.parse(unknown.body.toString()).error.code, "DeploymentNotFound");
    assert.equal(
      (await post("/openai/v1/chat/completions?api-version=2024-10-21", { model: "dep", ...chat })).status,
      400,
    );
    assert.equal((await post("/openai/v1/chat/completions", { model: "nope", ...chat })).status, 404);
    assert.equal((await post("/openai/v1/chat/completions", { model: "dep", ...chat })).status, 200);
    // Responses at the resource level need a version that has them.
    assert.equal((await post("/openai/responses?api-version=2024-10-21", { model: "dep", input: "x" })).status, 404);
    assert.equal(
      (await post("/openai/responses?api-version=2025-04-01-preview", { model: "dep", input: "x" })).status,
      200,
    );
  });
});
