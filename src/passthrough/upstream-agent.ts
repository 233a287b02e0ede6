import { Agent } from "undici";
import type { Timeouts } from "../config/load.ts";

/**
 * One pooled keep-alive dispatcher for every upstream call, with the three timeouts that fit streaming LLM calls:
 * connect, first byte (response headers), and idle time between body chunks (not a total deadline: a healthy
 * stream may run for many minutes).
 */
export function createUpstreamAgent(timeouts: Timeouts): Agent {
  return new Agent({
    connect: { timeout: timeouts.connectMs },
    headersTimeout: timeouts.firstByteMs,
    bodyTimeout: timeouts.idleMs,
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 600_000,
    // Enough sockets per origin for dozens of agents streaming at once; undici queues beyond this.
    connections: 256,
  });
}
