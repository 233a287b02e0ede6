import { describe } from "node:test";
import { routingApiCases } from "./api-cases.ts";

describe("routing rules API (SQLite)", () => {
  routingApiCases(() => ({}));
});
