import { memoryBackend } from "../helpers/counter-backends.ts";
import { registerSessionCapCases } from "./session-cap-cases.ts";

registerSessionCapCases(memoryBackend());
