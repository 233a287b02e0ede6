import assert from "node:assert/strict";
import { test } from "node:test";
import { formatAwsKey, parseAwsKey, signAwsRequest } from "../../../src/providers/bedrock/sigv4.ts";
import { checkBedrockAuth } from "../../fixtures/mock-upstream/bedrock/auth.ts";
import {
  MOCK_AWS_CREDENTIALS,
  MOCK_AWS_REGION,
  MOCK_AWS_SESSION_CREDENTIALS,
} from "../../fixtures/mock-upstream/bedrock/credentials.ts";

test("provider keys: access key pairs (with a session token) vs Bedrock API keys", () => {
  assert.deepEqual(parseAwsKey("AKID:SECRET/x+y"), { accessKeyId: "AKID", secretAccessKey: "SECRET/x+y" });
  assert.deepEqual(parseAwsKey("AKID:SECRET:TOKEN=="), {
    accessKeyId: "AKID",
    secretAccessKey: "SECRET",
    sessionToken: "TOKEN==",
  });
  assert.equal(parseAwsKey("ABSKQmVkcm9ja0FQSUtleS1hYmM="), null);
  assert.equal(parseAwsKey("a:b:c:d"), null);
  assert.equal(formatAwsKey({ accessKeyId: "A", secretAccessKey: "B", sessionToken: "C" }), "A:B:C");
});

const URL_PATH = "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke-with-response-stream";

async function signed(
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string },
  body: Buffer,
) {
  return signAwsRequest({
    url: `http://127.0.0.1:4010${URL_PATH}`,
    region: MOCK_AWS_REGION,
    credentials,
    headers: { "content-type": "application/json", accept: "application/vnd.amazon.eventstream" },
    body,
    now: Date.UTC(2026, 0, 2, 3, 4, 5),
  });
}

test("a signed request carries the AWS headers and passes a verifier that recomputes the signature", async () => {
  const body = Buffer.from('{"anthropic_version":"bedrock-2023-05-31","max_tokens":5,"messages":[]}');
  const headers = await signed(MOCK_AWS_CREDENTIALS, body);
  assert.equal(headers["x-amz-date"], "20260102T030405Z");
  assert.match(
    headers.authorization ?? "",
    /^AWS4-HMAC-SHA256 Credential=AKIAMOCKTOLLGATE0001\/20260102\/us-east-1\/bedrock\/aws4_request, SignedHeaders=accept;content-type;host;x-amz-content-sha256;x-amz-date, Signature=[0-9a-f]{64}$/,
  );
  assert.equal(headers.host, undefined, "undici sets Host itself");
  const sent = { ...headers, host: "127.0.0.1:4010" };
  assert.equal(await checkBedrockAuth("POST", URL_PATH, sent, body), null);
  const tampered = await checkBedrockAuth("POST", URL_PATH, sent, Buffer.from(body.toString().replace("5", "6")));
  assert.equal(tampered?.status, 400, "the body no longer matches its signed hash");
  const otherPath = await checkBedrockAuth(
    "POST",
    URL_PATH.replace("invoke-with-response-stream", "invoke"),
    sent,
    body,
  );
  assert.equal(otherPath?.headers?.["x-amzn-errortype"]?.split(":")[0], "InvalidSignatureException");
});

test("temporary credentials sign their session token", async () => {
  const body = Buffer.from("{}");
  const headers = await signed(MOCK_AWS_SESSION_CREDENTIALS, body);
  assert.equal(headers["x-amz-security-token"], MOCK_AWS_SESSION_CREDENTIALS.sessionToken);
  assert.match(headers.authorization ?? "", /SignedHeaders=[^,]*x-amz-security-token/);
  assert.equal(await checkBedrockAuth("POST", URL_PATH, { ...headers, host: "127.0.0.1:4010" }, body), null);
});
