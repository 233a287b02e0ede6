import type { FastifyReply } from "fastify";
import { formatUsd } from "../pipeline/money.ts";

/**
 * JSON text where bigints are written as plain integer literals (JSON.stringify throws on them), so sums of
 * nano-dollars past 2^53 stay exact on the wire. `undefined` members are left out, as JSON.stringify does.
 */
export function exactJson(value: unknown): string {
  if (typeof value === "bigint") return value.toString();
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(exactJson).join(",")}]`;
  const parts: string[] = [];
  for (const [key, member] of Object.entries(value)) {
    if (member !== undefined) parts.push(`${JSON.stringify(key)}:${exactJson(member)}`);
  }
  return `{${parts.join(",")}}`;
}

export function sendExactJson(reply: FastifyReply, value: unknown): FastifyReply {
  return reply.type("application/json; charset=utf-8").send(exactJson(value));
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Nano-dollars → the exact decimal dollar string of `formatUsd` ("0.000123450"), for sums of any size. */
export function usd(nano: bigint): string {
  if (nano <= MAX_SAFE && nano >= -MAX_SAFE) return formatUsd(Number(nano));
  const sign = nano < 0n ? "-" : "";
  const abs = nano < 0n ? -nano : nano;
  return `${sign}${abs / 1_000_000_000n}.${(abs % 1_000_000_000n).toString().padStart(9, "0")}`;
}
