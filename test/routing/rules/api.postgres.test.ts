import { describe } from "node:test";
import { dropSchema, randomSchemaName, requirePostgres, testPostgresUrl } from "../../helpers/postgres.ts";
import { routingApiCases } from "./api-cases.ts";

const url = testPostgresUrl();
const skip = await requirePostgres(url);
const schema = randomSchemaName("routing_rules");

describe("routing rules API (PostgreSQL)", { skip: skip ?? false }, () => {
  routingApiCases(
    () => ({ databaseUrl: url, databaseSchema: schema }),
    () => dropSchema(url, schema),
  );
});
