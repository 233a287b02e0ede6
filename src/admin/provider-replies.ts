import type { FastifyReply } from "fastify";
import type { z } from "zod";
import { EncryptionKeyMismatchError } from "../providers/provider-store.ts";
import type { ConfigSource } from "../providers/types.ts";
import type { ApiProviders } from "./api-providers.ts";

/** The error replies of `/api/providers`: `{ error: { type, message } }` with the status that fits. */

export function replyError(reply: FastifyReply, status: number, type: string, message: string): FastifyReply {
  return reply.code(status).send({ error: { type, message } });
}

/** 400 with every zod issue, in the message and as `details`. */
export function invalid(reply: FastifyReply, what: string, error: z.ZodError): FastifyReply {
  const issues = error.issues.map((i) => ({ path: i.path.map(String), message: i.message }));
  const message = issues.map((i) => (i.path.length > 0 ? `${i.path.join(".")}: ${i.message}` : i.message)).join("; ");
  return reply.code(400).send({ error: { type: "invalid_request", message: `${what}: ${message}`, details: issues } });
}

export function notFound(reply: FastifyReply, name: string): FastifyReply {
  return replyError(reply, 404, "not_found", `No provider "${name}".`);
}

export function keyNotFound(reply: FastifyReply, name: string, id: string): FastifyReply {
  return replyError(reply, 404, "not_found", `Provider "${name}" has no key "${id}".`);
}

/** Why a provider cannot be changed: 409 for env/config providers and unreadable stored ones, 404 for unknown names. */
export function notStored(reply: FastifyReply, providers: ApiProviders, name: string): FastifyReply {
  const unreadable = providers.unreadable(name);
  if (unreadable) {
    return replyError(
      reply,
      409,
      "unavailable",
      `Stored provider "${name}" cannot be changed while it cannot be read (${unreadable.reason}); it can only be deleted.`,
    );
  }
  const configured = providers.configured(name);
  if (configured) {
    return replyError(
      reply,
      409,
      "conflict",
      `Provider "${name}" comes from ${sourceName(configured.source)} and is changed there, not through the API. ` +
        `To override it here, create an API provider with the same name (POST /api/providers).`,
    );
  }
  return notFound(reply, name);
}

/** Runs a write that encrypts keys; a master-key mismatch becomes a 409 (undefined: the reply is sent). */
export async function guardKeyWrite<T>(reply: FastifyReply, write: () => Promise<T>): Promise<T | undefined> {
  try {
    return await write();
  } catch (err) {
    if (!(err instanceof EncryptionKeyMismatchError)) throw err;
    replyError(reply, 409, "encryption_key_mismatch", `Cannot store the key: ${err.message}.`);
    return undefined;
  }
}

/** Where a provider comes from, for messages. */
export function sourceName(source: ConfigSource): string {
  return source === "env" ? "the environment" : source === "config" ? "the config file" : "the API";
}
