/** A custom provider (the built-in `openai` one would try WebSockets); no retries, no plugin sync, no analytics. */
export function codexConfig(baseUrl: string): string {
  return `model = "gpt-5"
model_provider = "tollgate"
check_for_update_on_startup = false

[model_providers.tollgate]
name = "Tollgate"
base_url = ${JSON.stringify(baseUrl)}
env_key = "TOLLGATE_E2E_KEY"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0

[features]
plugins = false

[analytics]
enabled = false
`;
}
