import { redisBackend } from "../helpers/counter-backends.ts";
import { registerSessionCapCases } from "./session-cap-cases.ts";

registerSessionCapCases(await redisBackend());
