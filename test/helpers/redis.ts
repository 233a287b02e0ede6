import { Redis } from "ioredis";
import { redactedUrl, requireService } from "./postgres.ts";

export const DEFAULT_TEST_REDIS_URL = "redis://127.0.0.1:6379";

export function testRedisUrl(): string {
  return process.env.TOLLGATE_TEST_REDIS_URL || DEFAULT_TEST_REDIS_URL;
}

/** Undefined when Redis answers; a visible skip reason otherwise (and a failure under CI=true, via requireService). */
export function requireRedis(url: string = testRedisUrl()): Promise<string | undefined> {
  return requireService(
    "Redis",
    async () => {
      const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on("error", () => {});
      try {
        await probe.connect();
        await probe.ping();
      } finally {
        probe.disconnect();
      }
    },
    { target: redactedUrl(url) },
  );
}
