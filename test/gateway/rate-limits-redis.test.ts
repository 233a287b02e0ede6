import { redisBackend } from "../helpers/counter-backends.ts";
import { registerRateLimitCases } from "./rate-limit-cases.ts";

registerRateLimitCases(await redisBackend());
