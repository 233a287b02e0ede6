// The slice of autocannon 9's programmatic API the bench uses (the package ships no types).
declare module "autocannon" {
  import type { EventEmitter } from "node:events";

  export interface AutocannonOptions {
    url: string;
    connections?: number;
    /** Total requests to send; when set, `duration` is ignored and the run ends once all are answered. */
    amount?: number;
    /** Seconds, used when `amount` is not set. */
    duration?: number;
    method?: "GET" | "POST" | "PUT" | "DELETE" | "HEAD" | "PATCH";
    headers?: Record<string, string>;
    body?: string | Buffer;
    /** Per-request timeout in seconds. */
    timeout?: number;
    /** How often (ms) autocannon samples its counters and checks whether to stop. */
    sampleInt?: number;
    pipelining?: number;
    /** Returning false counts the response as a mismatch. */
    verifyBody?: (body: string) => boolean;
  }

  export interface AutocannonResult {
    errors: number;
    timeouts: number;
    mismatches: number;
    non2xx: number;
    resets: number;
    "2xx": number;
    statusCodeStats: Record<string, { count: number }>;
    start: Date;
    finish: Date;
  }

  export interface AutocannonInstance extends EventEmitter {
    stop(): void;
  }

  type Callback = (error: Error | null, result: AutocannonResult) => void;

  function autocannon(options: AutocannonOptions, callback: Callback): AutocannonInstance;
  export default autocannon;
}
