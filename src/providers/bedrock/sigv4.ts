import { Sha256 } from "@aws-crypto/sha256-js";
import { SignatureV4 } from "@smithy/signature-v4";

/** AWS credentials for SigV4: an access key pair, and a session token for temporary credentials. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/**
 * A Bedrock provider key is either an access key pair written `ACCESS_KEY_ID:SECRET_ACCESS_KEY[:SESSION_TOKEN]`
 * (none of the three contains a colon) or a Bedrock API key (`ABSK…`, `bedrock-api-key-…`), sent as a bearer token.
 * Null: an API key.
 */
export function parseAwsKey(secret: string): AwsCredentials | null {
  const parts = secret.split(":");
  if (parts.length < 2 || parts.length > 3) return null;
  const [accessKeyId, secretAccessKey, sessionToken] = parts;
  if (!accessKeyId || !secretAccessKey) return null;
  return sessionToken ? { accessKeyId, secretAccessKey, sessionToken } : { accessKeyId, secretAccessKey };
}

/** The key form of a credential triple (config file and environment variables are turned into this). */
export function formatAwsKey(credentials: AwsCredentials): string {
  const { accessKeyId, secretAccessKey, sessionToken } = credentials;
  return sessionToken ? `${accessKeyId}:${secretAccessKey}:${sessionToken}` : `${accessKeyId}:${secretAccessKey}`;
}

export interface SignInput {
  /** The full upstream URL, path already percent-encoded as it goes on the wire. */
  url: string;
  region: string;
  credentials: AwsCredentials;
  /** Headers to sign (content-type, accept …); host and the x-amz-* headers are added. */
  headers: Record<string, string>;
  body: Uint8Array;
  /** Signing time, ms since the epoch. */
  now: number;
  /** Signing name of the service; Bedrock's runtime signs as "bedrock". */
  service?: string;
}

/**
 * SigV4-signs a request with the AWS library (canonical request, payload hash, signing-key derivation all theirs).
 * Returns the headers to send: the signed ones plus `authorization`, `x-amz-date`, `x-amz-content-sha256` and, for
 * temporary credentials, `x-amz-security-token`.
 */
export async function signAwsRequest(input: SignInput): Promise<Record<string, string>> {
  const url = new URL(input.url);
  const signer = new SignatureV4({
    service: input.service ?? "bedrock",
    region: input.region,
    credentials: input.credentials,
    sha256: Sha256,
  });
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = v;
  const signed = await signer.sign(
    {
      method: "POST",
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname,
      query,
      headers: { ...input.headers, host: url.host },
      body: input.body,
    },
    { signingDate: new Date(input.now) },
  );
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(signed.headers)) out[name.toLowerCase()] = String(value);
  // undici sets Host itself from the origin (the same value).
  delete out.host;
  return out;
}
