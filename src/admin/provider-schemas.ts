import { z } from "zod";
import { findPreset, PROVIDER_PRESETS } from "../providers/presets.ts";
import { buildProviderConfig, type StoredProviderRecord } from "../providers/provider-store.ts";

/** Request bodies of `/api/providers` and how they become a stored provider row. */

const KINDS = ["anthropic", "openai", "gemini"] as const;
const KindSchema = z.enum(KINDS, { error: `kind must be one of ${KINDS.map((k) => `"${k}"`).join(", ")}` });
const NameSchema = z
  .string()
  .max(64, "name is at most 64 characters")
  .regex(/^[a-z0-9][a-z0-9_-]*$/, "name must be lowercase letters, digits, _ or -, starting with a letter or digit");
const HttpUrlSchema = z
  .string()
  .refine((s) => /^https?:\/\//i.test(s) && URL.canParse(s), "baseUrl must be an http(s) URL");
const SecretSchema = z
  .string()
  .min(1, "key is empty")
  .max(4096, "key is longer than 4096 characters")
  .regex(/^[\x21-\x7e]+$/, "key must be printable ASCII without spaces or line breaks");
const LabelSchema = z.string().trim().min(1).max(200);
// Headers Tollgate or the HTTP layer must own; a stored value would break every request.
const RESERVED_HEADERS = new Set([
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "upgrade",
  "te",
  "trailer",
]);
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HeadersSchema = z.record(z.string(), z.string()).superRefine((headers, ctx) => {
  // Checked here rather than as the record's key schema, whose failures zod reports only as "Invalid key".
  for (const [name, value] of Object.entries(headers)) {
    const issue = (message: string) => ctx.addIssue({ code: "custom", path: [name], message });
    if (!HEADER_NAME.test(name)) issue("header names are HTTP tokens");
    else if (RESERVED_HEADERS.has(name.toLowerCase()))
      issue("this header is set by the HTTP layer and cannot be configured");
    if (/[\r\n\0]/.test(value)) issue("header values cannot contain line breaks");
  }
});
const ModelsSchema = z.array(z.string().trim().min(1)).max(1000);
const PricingIdSchema = z.string().trim().min(1).nullable();

// A key's routing settings, as config-file keys take them (config/schema.ts); zod numbers are finite already.
const KeyWeightSchema = z
  .number({ error: "weight must be a number" })
  .positive("weight must be greater than 0")
  .max(1_000_000, "weight is at most 1000000");
const KeyModelsSchema = z
  .array(z.string().trim().min(1, "model names cannot be empty").max(256, "model names are at most 256 characters"), {
    error: "models must be an array of model names or globs",
  })
  .min(1, "models needs at least one model name or glob (leave it out for every model)")
  .max(200, "models holds at most 200 names or globs");

/** `POST /api/providers/:name/keys`, and each of `apiKeys` on create. */
export const NewKeySchema = z.strictObject({
  key: SecretSchema,
  label: LabelSchema.optional(),
  weight: KeyWeightSchema.optional(),
  models: KeyModelsSchema.optional(),
});

/** `POST /api/providers`. */
export const CreateProviderSchema = z.strictObject({
  name: NameSchema,
  preset: z.string().min(1).optional(),
  kind: KindSchema.optional(),
  baseUrl: HttpUrlSchema.optional(),
  apiKeys: z.array(NewKeySchema).max(100).optional(),
  models: ModelsSchema.optional(),
  headers: HeadersSchema.optional(),
  pricingId: PricingIdSchema.optional(),
});

/** `PATCH /api/providers/:name`: absent fields stay, null clears `preset`, `baseUrl` and `pricingId`. */
export const PatchProviderSchema = z
  .object({
    preset: z.string().min(1).nullable().optional(),
    kind: KindSchema.optional(),
    baseUrl: HttpUrlSchema.nullable().optional(),
    models: ModelsSchema.optional(),
    headers: HeadersSchema.optional(),
    pricingId: PricingIdSchema.optional(),
    apiKeys: z.never({ error: "keys are changed with POST/PATCH/DELETE /api/providers/<name>/keys" }).optional(),
    name: z.never({ error: "a provider cannot be renamed; create a new one" }).optional(),
  })
  .strict();

/** `PATCH /api/providers/:name/keys/:id`: absent fields stay; null resets `weight` to 1 and `models` to every model. */
export const PatchKeySchema = z
  .strictObject({
    disabled: z.boolean({ error: "disabled must be true or false" }).optional(),
    weight: KeyWeightSchema.nullable().optional(),
    models: KeyModelsSchema.nullable().optional(),
  })
  .refine((patch) => Object.values(patch).some((v) => v !== undefined), {
    error: 'set at least one of "disabled", "weight" or "models"',
  });

export type ProviderPatch = z.infer<typeof PatchProviderSchema>;

/** The settings a provider is described by, whether from a create body or a patch merged onto the stored row. */
export interface ProviderInput {
  preset?: string | undefined;
  kind?: (typeof KINDS)[number] | undefined;
  baseUrl?: string | undefined;
  models?: string[] | undefined;
  headers?: Record<string, string> | undefined;
  pricingId?: string | null | undefined;
}

/**
 * The row to store for a provider, resolved as config-file entries are (config/load.ts): the preset is the one
 * named, or the provider's own name when that is a preset; a provider with no preset needs `kind` and `baseUrl`.
 * Returns an error message for the client when the input does not describe a usable provider.
 */
export function resolveRecord(
  name: string,
  input: ProviderInput,
  options: { explicitPresetOnly?: boolean } = {},
): StoredProviderRecord | string {
  const known = PROVIDER_PRESETS.map((p) => p.name).join(", ");
  if (input.preset !== undefined && !findPreset(input.preset))
    return `Unknown preset "${input.preset}" (known: ${known}).`;
  const presetName = input.preset ?? (!options.explicitPresetOnly && findPreset(name) ? name : undefined);
  const preset = presetName === undefined ? undefined : findPreset(presetName);
  const kind = input.kind ?? preset?.kind;
  if (!kind) {
    return `"${name}" is not a built-in provider: set "preset" (one of ${known}) or "kind" (${KINDS.map((k) => `"${k}"`).join(", ")}).`;
  }
  if (input.baseUrl === undefined && !preset) return `"baseUrl" is required for a provider without a preset.`;
  const record: StoredProviderRecord = {
    name,
    kind,
    baseUrl: input.baseUrl ?? null,
    settings: {
      ...(presetName === undefined ? {} : { preset: presetName }),
      ...(input.models === undefined ? {} : { models: input.models }),
      ...(input.headers === undefined ? {} : { headers: input.headers }),
      ...(input.pricingId === undefined ? {} : { pricingId: input.pricingId }),
    },
  };
  try {
    buildProviderConfig(record, []);
  } catch (err) {
    return `Provider "${name}" is not usable: ${(err as Error).message}.`;
  }
  return record;
}

/** The stored row with a patch applied, resolved like a new one (or an error message for the client). */
export function patchRecord(stored: StoredProviderRecord, patch: ProviderPatch): StoredProviderRecord | string {
  const preset = patch.preset === undefined ? stored.settings.preset : (patch.preset ?? undefined);
  return resolveRecord(
    stored.name,
    {
      ...(preset === undefined ? {} : { preset }),
      // A new preset brings its own kind unless one is given.
      kind: patch.kind ?? (patch.preset ? undefined : KINDS.find((k) => k === stored.kind)),
      baseUrl: patch.baseUrl === undefined ? (stored.baseUrl ?? undefined) : (patch.baseUrl ?? undefined),
      models: patch.models ?? stored.settings.models,
      headers: patch.headers ?? stored.settings.headers,
      pricingId: patch.pricingId === undefined ? stored.settings.pricingId : patch.pricingId,
    },
    // A provider stored without a preset keeps none, even when its name is a preset's.
    { explicitPresetOnly: true },
  );
}
