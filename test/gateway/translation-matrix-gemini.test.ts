import assert from "node:assert/strict";
import { type Content, type GenerateContentResponse, GoogleGenAI, type Part, type Tool } from "@google/genai";
import { convertGeminiUsage } from "../../src/dialects/gemini/usage.ts";
import {
  type AskOptions,
  type ClientDriver,
  type Conversation,
  defineMatrix,
  must,
  type SeenCall,
  TOOLS,
  type Turn,
  toolOutput,
} from "./translation-matrix-cases.ts";

const tools: Tool[] = [
  {
    functionDeclarations: TOOLS.map((t) => ({
      name: t.name,
      description: t.description,
      parametersJsonSchema: t.parameters,
    })),
  },
];

/** The model turn as the client keeps it in its history: every part of the first candidate, chunk after chunk. */
function modelParts(responses: GenerateContentResponse[]): Part[] {
  return responses.flatMap((r) => r.candidates?.[0]?.content?.parts ?? []);
}

function driver(stream: boolean): ClientDriver {
  return {
    label: stream ? "genai generateContentStream" : "genai generateContent",
    dialect: "gemini",
    stream,
    open(url, headers): Conversation {
      const client = new GoogleGenAI({ apiKey: "client-key", httpOptions: { baseUrl: `${url}/genai`, headers } });
      const contents: Content[] = [];
      let options: AskOptions = { tools: false };
      const send = async (model: string): Promise<Turn> => {
        const config = {
          ...(options.system ? { systemInstruction: options.system } : {}),
          ...(options.maxTokens ? { maxOutputTokens: options.maxTokens } : {}),
          ...(options.tools ? { tools } : {}),
        };
        const request = { model, contents, config };
        const responses: GenerateContentResponse[] = [];
        if (stream) {
          for await (const chunk of await client.models.generateContentStream(request)) responses.push(chunk);
        } else {
          responses.push(await client.models.generateContent(request));
        }
        const last = responses.at(-1);
        assert.equal(last?.candidates?.[0]?.finishReason, "STOP");
        assert.ok((last?.usageMetadata?.promptTokenCount ?? 0) > 0, "usageMetadata on the last chunk");
        const parts = modelParts(responses);
        contents.push({ role: "model", parts });
        return {
          text: parts.map((p) => (p.thought ? "" : (p.text ?? ""))).join(""),
          calls: responses
            .flatMap((r) => r.functionCalls ?? [])
            .map((c) => ({ id: c.id ?? null, name: c.name ?? "", args: c.args })),
          usage: must(convertGeminiUsage(last?.usageMetadata)),
        };
      };
      return {
        ask(model, prompt, asked) {
          options = asked;
          contents.push({ role: "user", parts: [{ text: prompt }] });
          return send(model);
        },
        answer(model, calls: SeenCall[]) {
          // The call's id, when the response had one, goes back with its result (as Gemini CLI does).
          contents.push({
            role: "user",
            parts: calls.map((c) => ({
              functionResponse: {
                ...(c.id !== null ? { id: c.id } : {}),
                name: c.name,
                response: { output: toolOutput(c.name) },
              },
            })),
          });
          return send(model);
        },
      };
    },
  };
}

defineMatrix("Google GenAI SDK", [driver(false), driver(true)]);
